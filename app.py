"""ASGI entry point: `uvicorn app:app --no-proxy-headers`, or `python app.py --host 127.0.0.1 --port 7860`.

Importing this module reads the settings (KEFU_* environment, .env) and builds the routes
only; the model and index load in the background from the app's lifespan, and /healthz
answers 503 until they have.
"""

from __future__ import annotations

import argparse
import logging

from bot.web.server import create_app

app = create_app()

if __name__ == "__main__":
    import uvicorn

    p = argparse.ArgumentParser(description="serve the kefu web UI and API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    print(
        f"kefu: http://{args.host}:{args.port}/  (API docs: /docs, widget: /widget/demo)",
        flush=True,
    )
    # uvicorn trusts X-Forwarded-For from loopback by default; kefu decides (KEFU_TRUSTED_PROXIES).
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=False)
