"""The desktop app, `colorize-app`: drop photos, compare before/after, tune vividness, steer the
colours with hint points or a reference photo, save.

A thin shell over the engine's public API (`from engine import ...`); read in this order:
    app.py          the command line, `main()` and `--selftest`
    xcb.py          before Qt starts on X11: are the xcb plugin's libraries installed?
    window.py       the main window: builds the widgets and wires everything below together
    flow.py         what follows a photo through its jobs: each report shown, reruns, re-renders
    session.py      the items' life (waiting -> working -> done/failed/cancelled) and their jobs
    items.py        one dropped file = one Item; the list that shows them
    jobs.py         ColorizeJob and SaveJob (what the worker is asked) and their results
    queues.py       GUI-side queues that feed the workers one request at a time (cancel, priority)
    worker.py       what runs in the worker threads: load the model, colorize, re-render, save
    cache.py        which full-resolution results stay in memory
    preview.py      a screen-sized Prediction, re-rendered while the vividness slider is dragged
    compare_view.py the before/after view: split slider, zoom, pan; hint points drawn and taken
    vividness.py    the vividness slider (the annealed-mean temperature)
    hints.py        hint mode: each photo's colour hint points, their undo history, the view's edits
    swatches.py     the popup offering a point's colours (the network's suggestions, or any)
    sidecar.py      a photo's hint points and reference saved beside its result (<result>.hints.json)
    reference.py    the reference photo: its control, and what it does to the selected photo
    saving.py       output names and formats, the Save All dialog, the Save flows (Saver)
    inputs.py       dropped/opened/pasted things -> files to colorize
    actions.py      the menus' and toolbar's commands
    banner.py       the dismissable message line above the view
    images.py       engine images -> QImage for display
"""
