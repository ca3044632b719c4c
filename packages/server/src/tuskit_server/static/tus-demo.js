// The demo page's tus 1.0.0 client, written for tuskit: POST creates the upload, PATCH
// sends it chunk by chunk from Upload-Offset, HEAD asks where to resume; pausing aborts
// the running request, so the server keeps exactly what it stored.
"use strict";

const TUS_VERSION = "1.0.0";

// Resolve with the finished XMLHttpRequest (any status), reject when it cannot complete.
function send(method, url, headers, body, onSent) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("Tus-Resumable", TUS_VERSION);
    for (const [name, value] of Object.entries(headers)) {
      xhr.setRequestHeader(name, value);
    }
    if (onSent) {
      xhr.upload.onprogress = (event) => onSent(event.loaded);
    }
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(new Error("the network failed"));
    xhr.onabort = () => reject(new Error("paused"));
    xhr.send(body === undefined ? null : body);
    send.current = xhr;
  });
}

function base64(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary);
}

function expect(xhr, status, what) {
  if (xhr.status !== status) {
    const detail = xhr.responseText.trim() || xhr.statusText;
    throw new Error(`${what} answered ${xhr.status}: ${detail}`);
  }
}

class Upload {
  constructor(file, endpoint, chunkSize, onProgress) {
    this.file = file;
    this.endpoint = endpoint;
    this.chunkSize = chunkSize;
    this.onProgress = onProgress;
    this.url = null;
    this.offset = 0;
    this.stopped = false;
  }

  async create() {
    const metadata = [
      `filename ${base64(this.file.name)}`,
      `filetype ${base64(this.file.type || "application/octet-stream")}`,
    ].join(",");
    const xhr = await send("POST", this.endpoint, {
      "Upload-Length": String(this.file.size),
      "Upload-Metadata": metadata,
    });
    expect(xhr, 201, "creating the upload");
    this.url = new URL(xhr.getResponseHeader("Location"), window.location.href).href;
    this.offset = 0;
  }

  async resumeOffset() {
    const xhr = await send("HEAD", this.url, {});
    expect(xhr, 200, "asking for the offset");
    this.offset = Number(xhr.getResponseHeader("Upload-Offset"));
  }

  // Send what is missing until the upload is complete or paused.
  async run() {
    this.stopped = false;
    if (this.url === null) {
      await this.create();
    } else {
      await this.resumeOffset();
    }
    this.onProgress(this.offset);
    while (this.offset < this.file.size && !this.stopped) {
      const chunk = this.file.slice(this.offset, this.offset + this.chunkSize);
      const start = this.offset;
      const xhr = await send(
        "PATCH",
        this.url,
        { "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(start) },
        chunk,
        (sent) => this.onProgress(start + sent),
      );
      expect(xhr, 204, "sending a chunk");
      this.offset = Number(xhr.getResponseHeader("Upload-Offset"));
      this.onProgress(this.offset);
    }
    return this.offset >= this.file.size;
  }

  pause() {
    this.stopped = true;
    if (send.current) {
      send.current.abort();
    }
  }
}

function page() {
  const $ = (id) => document.getElementById(id);
  const endpoint = new URL(document.body.dataset.endpoint, window.location.href).href;
  let upload = null;

  function show(state, text) {
    document.body.dataset.state = state;
    $("status").textContent = text;
    $("start").disabled = state === "uploading";
    $("pause").disabled = state !== "uploading";
    $("resume").disabled = state !== "paused" && state !== "error";
  }

  function progress(offset) {
    if (upload.url !== null && $("result").textContent !== upload.url) {
      $("result").href = upload.url;
      $("result").textContent = upload.url;
    }
    const size = upload.file.size;
    $("progress").value = size === 0 ? 1 : offset / size;
    $("status").textContent = `${offset} of ${size} bytes`;
  }

  async function go() {
    show("uploading", "Uploading…");
    try {
      const done = await upload.run();
      if (done) {
        show("done", `Done: ${upload.file.size} bytes uploaded.`);
      } else {
        show("paused", `Paused at ${upload.offset} of ${upload.file.size} bytes.`);
      }
    } catch (error) {
      if (upload.stopped) {
        show("paused", "Paused.");
      } else {
        show("error", `Failed: ${error.message}. Resume to try again.`);
      }
    }
  }

  $("start").addEventListener("click", () => {
    const file = $("file").files[0];
    if (!file) {
      show("idle", "Choose a file first.");
      return;
    }
    const chunkSize = Math.max(1, Number($("chunk-kib").value) || 1024) * 1024;
    upload = new Upload(file, endpoint, chunkSize, progress);
    $("result").textContent = "";
    go();
  });
  $("pause").addEventListener("click", () => upload && upload.pause());
  $("resume").addEventListener("click", () => upload && go());
  show("idle", "Choose a file.");
}

page();
