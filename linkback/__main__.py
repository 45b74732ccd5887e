from linkback.cli._entry import main

# Worker processes (forkserver) import the main module again: only run the CLI when executed.
if __name__ == "__main__":
    main()
