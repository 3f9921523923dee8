"""Locust entry point: ``locust -f loadtests/locustfile.py --host http://127.0.0.1:8080``.

Only the user classes are imported here; importing ``loadtests.users`` also registers the
start-up hooks (bodies built once, the ``fileUrl`` file server, the ledger). ``make load`` runs it
headless against a server it starts; see ``loadtests/README.md``.
"""

from loadtests.users import IndigitallUser, JelouUser

__all__ = ["JelouUser", "IndigitallUser"]
