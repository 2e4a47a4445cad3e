"""The desktop app, `colorize-app`: drop photos, compare before/after, tune vividness, save.

A thin shell over the engine; read in this order:
    app.py          the command line, `main()` and `--selftest`
    window.py       the main window: wires everything below together
    items.py        one dropped file = one Item; the list (strip) that shows them
    compare_view.py the before/after view: split slider, zoom, pan
    vividness.py    the vividness slider (the annealed-mean temperature)
    jobs.py         GUI-side queues that feed the workers one request at a time (cancel, priority)
    worker.py       what runs in the worker threads: load the model, colorize, re-render, save
    cache.py        which full-resolution results stay in memory
    images.py       engine images -> QImage for display
    inputs.py       dropped/opened paths -> files to colorize (and the video hook)
    saving.py       output names, formats and the Save All dialog
"""
