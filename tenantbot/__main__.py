from tenantbot.cli import main

main()
