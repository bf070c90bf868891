"""The layers under the provider SDKs: where their HTTP goes, and the thread Telegram's asyncio runs on.

An adapter takes one of these as its `transport`; tests pass a fake one that answers like the
provider would, and the adapter's error classification is checked without a server.
"""
