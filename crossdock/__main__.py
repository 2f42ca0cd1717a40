from crossdock.cli.app import entry

entry()
