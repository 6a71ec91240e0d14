import type { Report } from "../src/types";
export function makeReport(o?: { seconds?: number; workers?: number; steps?: number; seed?: number; name?: string; errorsOnly?: boolean; legacy?: boolean; status?: string; runId?: string; slower?: number }): Report;
