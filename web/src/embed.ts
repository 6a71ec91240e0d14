// The report file's data: <script type="application/json" id="barrage-data">
// holds base64(gzip(JSON)). Decoded locally (DecompressionStream), so a
// report opened from file:// never touches the network.

import type { EmbeddedData } from "./types";

export const DATA_ELEMENT_ID = "barrage-data";

export function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64.replace(/\s+/g, ""));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export async function gunzip(bytes: Uint8Array): Promise<string> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

export async function decodeEmbedded(b64: string): Promise<EmbeddedData> {
  const json = await gunzip(base64ToBytes(b64));
  const data = JSON.parse(json) as EmbeddedData;
  if (!data || typeof data !== "object" || !data.report || typeof data.report !== "object") throw new Error("the embedded data has no report");
  return data;
}
