"""WireMock (the npm package ``wiremock``, which ships the standalone jar) as a benchmark reference.

``WireMock(cache)`` installs ``wiremock@3`` with npm into ``cache/wiremock`` once (the ordinary npm
client and registry; nothing else is downloaded), starts it on a free port of 127.0.0.1 with no
request journal and no request logging (a stub, like a tuned WireMock in a CI job), and registers one
stub: ``POST /v1/hsm/file`` answers Jelou's success body. It does not parse the upload.
``WireMock.unavailable()`` says why it cannot run (no npm, no java), or None.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

from .benchclient import free_port, request, stop

PACKAGE = "wiremock@3"
STUB = {"request": {"method": "POST", "url": "/v1/hsm/file"},
        "response": {"status": 200, "headers": {"Content-Type": "application/json"},
                     "jsonBody": {"message": ["Campaign sent successfully"], "status": "success"}}}


class WireMock:
    def __init__(self, cache: Path, *, log: Path | None = None, start_timeout: float = 120.0) -> None:
        self.home = cache / "wiremock"
        self.port = free_port()
        self.log, self.start_timeout = log, start_timeout
        self.process: subprocess.Popen | None = None

    @staticmethod
    def unavailable() -> str | None:
        missing = [name for name in ("npm", "java") if shutil.which(name) is None]
        return f"{' and '.join(missing)} not on PATH (WireMock is the npm package 'wiremock', run by Java)" if missing else None

    def _jar(self) -> Path:
        """The standalone jar the package ships (run with ``java -jar`` directly: the package's node
        launcher would leave Java running when it is terminated)."""
        found = sorted((self.home / "node_modules" / "wiremock" / "build").glob("wiremock-standalone-*.jar"))
        if not found:
            self.home.mkdir(parents=True, exist_ok=True)
            subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(self.home), PACKAGE],
                           check=True, capture_output=True, timeout=600)
            found = sorted((self.home / "node_modules" / "wiremock" / "build").glob("wiremock-standalone-*.jar"))
        if not found:
            raise RuntimeError(f"the npm package {PACKAGE} has no standalone jar under {self.home}")
        return found[-1]

    def __enter__(self) -> "WireMock":
        out = self.log.open("a") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(["java", "-jar", str(self._jar()), "--port", str(self.port), "--bind-address", "127.0.0.1",
                                         "--no-request-journal", "--disable-request-logging", "--disable-banner"],
                                        stdout=out, stderr=out)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"WireMock exited with {self.process.returncode}")
            try:
                status, _, _ = request(self.port, "POST", "/__admin/mappings", json.dumps(STUB).encode(),
                                       {"Content-Type": "application/json"}, timeout=2)
                if status == 201:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"WireMock did not answer within {self.start_timeout:.0f} s")
            time.sleep(0.3)

    def __exit__(self, *exc) -> None:
        stop(self.process, 15)

    def pid(self) -> int:
        return self.process.pid
