from suricate.cli import main

main()
