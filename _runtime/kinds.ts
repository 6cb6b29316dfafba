// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// Every object that crosses between runtimes is rebuilt on arrival by its
// kind, which its class registers beside itself (`registerMemoryKind`,
// `registerRemoteKind`). A runtime that talks to others must know every kind
// before the first message arrives, whatever its own code imported: the
// modules that open links import this list of the modules that register.
// See ARCHITECTURE.md, "How kinds are found".

import "../sync.ts";
import "../queue.ts";
import "../pipe.ts";
