from linkback.cli import app

app(prog_name="linkback")
