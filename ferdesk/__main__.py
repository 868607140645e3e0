from ferdesk.cli import main

raise SystemExit(main())
