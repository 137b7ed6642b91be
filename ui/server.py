"""Start the app: open the assistant, check the bind address against auth, launch."""
from __future__ import annotations

import ipaddress
import logging

from rag.core.errors import ConfigError
from rag.core.settings import Settings

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth(settings: Settings, host: str) -> tuple[str, str] | None:
    """``PROPOSALS_AUTH`` as (user, password); required when the app listens beyond loopback."""
    raw = settings.auth.get_secret_value() if settings.auth else ""
    if not raw:
        if is_loopback(host):
            return None
        raise ConfigError(f"refusing to listen on {host} without a password",
                          hint="set PROPOSALS_AUTH=user:password (or bind to 127.0.0.1)")
    user, sep, password = raw.partition(":")
    if not sep or not user or not password:
        raise ConfigError("PROPOSALS_AUTH must look like user:password (both non-empty)")
    return user, password


def serve(settings: Settings, *, host: str | None = None, port: int | None = None, answerer: str = "auto",
          retriever: str = "hybrid", block: bool = True, quiet: bool = False, evaluations=None):
    host = host or settings.host
    port = port or settings.port
    auth = parse_auth(settings, host)  # before anything heavy: a refused start is immediate
    from rag.answer.assistant import Assistant
    from ui.app import build_app, launch

    assistant = Assistant(settings, answerer=answerer, retriever=retriever)
    # the app is the data directory's one writer while it runs (its 资料库 imports); a CLI
    # ingest into the same directory is refused with a message that says what to do instead
    assistant.index.claim_writer(f"the app at http://{host}:{port}")
    assistant.warm()
    demo = build_app(assistant, evaluations=evaluations)
    log.info("serving on http://%s:%s (%s answers)", host, port, assistant.mode)
    return launch(demo, host=host, port=port, auth=auth, block=block, quiet=quiet)
