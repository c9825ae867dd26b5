import { runProcess } from "./process";
import { startWorker } from "./worker";

void runProcess("worker", (deps) => startWorker(deps));
