"""The playground: TensorFlow Playground's page on neuralab's engine (``neuralab playground``).

- :mod:`.state`    the page's state and messages (pydantic, hard caps) and the URL query;
- :mod:`.session`  one page's run as a neuralab config: data, network, steps, frames,
                   export, "run n seeds";
- :mod:`.server`   the FastAPI app: the page, its files and one websocket per page;
- ``static/``      the page (plain HTML, JS and CSS, no build step, works offline).

FastAPI and uvicorn (the ``playground`` extra) are needed by :mod:`.server` only.
"""
