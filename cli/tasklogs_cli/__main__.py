from tasklogs_cli.main import run

run()
