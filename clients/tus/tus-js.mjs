// Uploads one file with the stock tus-js-client (Node), as an app would: retries
// on network errors resume from the offset a HEAD reports. Prints one JSON line:
// the upload URL, the photo id from the last PATCH, and each offset HEAD answered.
// usage: node tus-js.mjs ENDPOINT TOKEN FILE CHUNK_BYTES|all
import fs from "node:fs";
import path from "node:path";
import * as tus from "tus-js-client";

const [endpoint, token, file, chunk] = process.argv.slice(2);
const heads = [];
let photoId = null;
const upload = new tus.Upload(fs.readFileSync(file), {
  endpoint,
  headers: { Authorization: `Bearer ${token}` },
  chunkSize: chunk === "all" ? Infinity : Number(chunk),
  retryDelays: [0, 200, 500, 1000, 2000],
  metadata: { filename: path.basename(file), description: "sent by tus-js-client", tags: "tus,node" },
  onAfterResponse(req, res) {
    if (req.getMethod() === "HEAD") heads.push(Number(res.getHeader("Upload-Offset")));
    const id = res.getHeader("Photoshare-Photo-Id");
    if (id) photoId = id;
  },
  onError(error) {
    console.error(`upload failed: ${error}`);
    process.exit(1);
  },
  onSuccess() {
    console.log(JSON.stringify({ url: upload.url, photo_id: photoId, resumed_from: heads }));
  },
});
upload.start();
