from linkback.cli import app

# Worker processes (forkserver) import the main module again: only run the CLI when executed.
if __name__ == "__main__":
    app(prog_name="linkback")
