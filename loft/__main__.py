from loft.cli import main

main()
