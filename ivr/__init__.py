"""Voice menus (IVR) as validated data: the menu model (`menu`), loading with line numbers
(`loader`), the R4 lint (`lint`), business hours (`hours`) and the pure interpreter
(`interpreter`) that turns a caller's keys and timeouts into what the call does next; the
self-service lookups (`lookup`: named providers registered at composition, and webhooks), the
active version (`runtime`) and the versions in Postgres (`models`, `service`, `api`). Nothing here
imports the call, desk or complaint domains."""
