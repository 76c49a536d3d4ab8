from archscope.cli.app import main

main()
