from ragchat.cli import main

main()
