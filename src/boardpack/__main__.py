from boardpack.cli import app

app()
