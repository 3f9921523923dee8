"""This project's own 'mock_server' package: it must not hide the mock's (bulk_messaging_mock)."""
WHOSE = "mine"
