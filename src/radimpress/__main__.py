from radimpress.cli import main

raise SystemExit(main())
