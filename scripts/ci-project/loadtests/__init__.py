"""This project's own 'loadtests' package: it must not hide the mock's (bulk_messaging_mock)."""
WHOSE = "mine"
