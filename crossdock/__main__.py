from crossdock.cli import entry

entry()
