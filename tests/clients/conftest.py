"""What the client suites share: rsvp-local servers started for a test, and tokens they accept.

The suites drive rsvp only through the vendors' own client libraries (Esri's `arcgis`, AVEVA's
`adh-sample-library-preview`), and check its webhooks with the Standard Webhooks project's own verifier
(`standardwebhooks`); this file only starts and stops the servers they talk to. `scripts/clients.sh`
builds `rsvp-local`, names it in RSVP_LOCAL_BIN and runs every suite in one pytest process.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# How long a server gets to say where it listens.
START_SECONDS = 30


def _binary() -> str:
    binary = os.environ.get("RSVP_LOCAL_BIN")
    if not binary or not os.access(binary, os.X_OK):
        raise RuntimeError("RSVP_LOCAL_BIN must name the rsvp-local binary (scripts/clients.sh sets it)")
    return binary


@dataclass
class Server:
    """One running `rsvp-local serve`, with its own port and data folder."""

    url: str
    data_dir: Path
    process: subprocess.Popen
    output: list[str] = field(default_factory=list)

    def token(self, tenant: str, email: str, *roles: str, sub: str | None = None,
              tenant_name: str | None = None) -> str:
        """A bearer token this server accepts, minted with its own key (`rsvp-local token`)."""
        args = [_binary(), "token", "--data-dir", str(self.data_dir), "--tenant", tenant, "--email", email]
        for role in roles:
            args += ["--role", role]
        if sub is not None:
            args += ["--sub", sub]
        if tenant_name is not None:
            args += ["--tenant-name", tenant_name]
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()

    def client(self, tenant: str, email: str, *roles: str, tenant_name: str | None = None) -> tuple[str, str]:
        """An OAuth client (client credentials) registered with this server's identity provider
        (`rsvp-local client`): its id and secret, which `POST /identity/connect/token` exchanges for a token."""
        args = [_binary(), "client", "--data-dir", str(self.data_dir), "--tenant", tenant, "--email", email]
        for role in roles:
            args += ["--role", role]
        if tenant_name is not None:
            args += ["--tenant-name", tenant_name]
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
        return fields["client_id"], fields["client_secret"]

    def lines(self, containing: str) -> list[str]:
        """The lines the server printed so far that contain `containing` (e.g. its outbox lines)."""
        return [line for line in list(self.output) if containing in line]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(data_dir: Path, *extra: str, port: int = 0) -> Server:
    """Starts `rsvp-local serve` on `port` (a free one when 0) of 127.0.0.1 with `extra` arguments, and waits until
    it listens."""
    process = subprocess.Popen(
        [_binary(), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    output: list[str] = []
    listening = threading.Event()
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            if not listening.is_set() and line.startswith("rsvp listening on "):
                found.append(line.split()[3].rstrip(";"))
                listening.set()
        listening.set()

    threading.Thread(target=read, daemon=True).start()
    if not listening.wait(START_SECONDS) or not found:
        process.kill()
        raise RuntimeError("rsvp-local did not start:\n" + "\n".join(output[-40:]))
    return Server(url=found[0], data_dir=data_dir, process=process, output=output)


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now (for a server that must know its URL before it starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def rsvp_server():
    """A factory of servers (`rsvp_server("--portal-url", "https://host.example")`), all stopped after the test.
    `prepare(data_dir)`, if given, runs on the new data folder before the server starts and returns more
    arguments; `port` is the port to listen on (a free one when 0)."""
    servers: list[Server] = []
    folders: list[str] = []

    def start(*extra: str, prepare=None, port: int = 0) -> Server:
        folder = tempfile.mkdtemp(prefix="rsvp-client-suite.")
        folders.append(folder)
        if prepare is not None:
            extra = (*extra, *prepare(Path(folder)))
        server = start_server(Path(folder), *extra, port=port)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def rsvp_portals(rsvp_server):
    """Two portals over `--tls`, the host and the guest, each at its own `https://127.0.0.1:<port>` URL, which reach
    each other there: each fetches the other's published key (`portals/self`) when it reads the other's files. The
    host makes the self-signed certificate; it is copied into the guest's data folder before the guest starts, so
    both serve it, and both trust it with `--trust-cert` (a test-only option; real portals' certificates are
    trusted by the platform's roots)."""
    def trust_own(data_dir: Path) -> list[str]:
        # The server makes tls.pem before it builds its fetcher, so it can trust the file it is about to write.
        return ["--trust-cert", str(data_dir / "tls.pem")]

    host_port = free_port()
    host = rsvp_server("--tls", "--portal-url", f"https://127.0.0.1:{host_port}", prepare=trust_own, port=host_port)

    def share_certificate(data_dir: Path) -> list[str]:
        shutil.copyfile(host.data_dir / "tls.pem", data_dir / "tls.pem")
        os.chmod(data_dir / "tls.pem", 0o600)
        return trust_own(data_dir)

    guest_port = free_port()
    guest = rsvp_server("--tls", "--portal-url", f"https://127.0.0.1:{guest_port}", prepare=share_certificate,
                        port=guest_port)
    return host, guest
