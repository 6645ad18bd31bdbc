import { installSharedAsyncLocalStorage } from "./shared-async-storage";

// Side-effect module, imported first by worker/main.ts (see shared-async-storage.ts).
installSharedAsyncLocalStorage();
