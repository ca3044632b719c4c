// Run one tus-js-client upload described by a JSON job, print one JSON result line.
//
//   node tus_js_client.mjs --modules <npm prefix> <job.json>
//
// Job fields (all optional except endpoint and file):
//   endpoint, file                   creation URL and the path of the file to send
//   input: "file" | "stream"         fs.ReadStream (known size, sliceable) or a plain Readable
//   metadata, metadataForPartialUploads   string maps, passed through unchanged
//   chunkSize, parallelUploads, uploadLengthDeferred, uploadDataDuringCreation
//   retryDelays                      default [] (fail on the first error, so the test sees it)
//   abortAfterBytes                  abort once the server accepted this many bytes, then
//                                    start a second Upload that resumes the stored URL
//   urlStorage                       FileUrlStorage path used for that resume
//   timeoutMs                        give up after this long: {"ok": false, "error": "timeout"}
//   protocol                         tus-js-client's protocol option: tus-v1 (default),
//                                    ietf-draft-03 or ietf-draft-05 (the IETF draft modes)
// Result: {"ok": true, "url", "requests", "resume"?} or {"ok": false, "error", "status",
// "requests"}, where requests lists {method, url, status, headers} as tus-js-client sent them.
// The process exits 0 whenever it could print a result; a crash of this script exits 1.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({
  options: { modules: { type: 'string' } },
  allowPositionals: true,
})
if (!values.modules || positionals.length !== 1) {
  process.stderr.write('usage: tus_js_client.mjs --modules <npm prefix> <job.json>\n')
  process.exit(2)
}
const requireFromPrefix = createRequire(path.join(path.resolve(values.modules), 'index.js'))
const tus = requireFromPrefix('tus-js-client')
const job = JSON.parse(fs.readFileSync(positionals[0], 'utf8'))

// Request headers worth reporting: they show which protocol features the client used.
const REPORTED = [
  'Content-Type',
  'Upload-Length',
  'Upload-Defer-Length',
  'Upload-Offset',
  'Upload-Concat',
  'Upload-Metadata',
  'Upload-Complete',
  'Upload-Draft-Interop-Version',
  'Tus-Resumable',
]

function openInput() {
  const stream = fs.createReadStream(job.file)
  if ((job.input ?? 'file') === 'file') return stream
  // A plain Readable has no path and no size: tus-js-client must stream it chunk by chunk.
  return stream.pipe(new PassThrough())
}

function baseOptions(log) {
  const pending = new WeakMap()
  const options = {
    endpoint: job.endpoint,
    metadata: job.metadata ?? {},
    metadataForPartialUploads: job.metadataForPartialUploads ?? {},
    retryDelays: job.retryDelays ?? [],
    parallelUploads: job.parallelUploads ?? 1,
    uploadLengthDeferred: job.uploadLengthDeferred ?? false,
    uploadDataDuringCreation: job.uploadDataDuringCreation ?? false,
    onBeforeRequest(req) {
      const headers = {}
      for (const name of REPORTED) {
        const value = req.getHeader(name)
        if (value !== undefined && value !== null) headers[name] = String(value)
      }
      const entry = { method: req.getMethod(), url: req.getURL(), status: null, headers }
      pending.set(req, entry)
      log.push(entry)
    },
    onAfterResponse(req, res) {
      const entry = pending.get(req)
      if (entry) entry.status = res.getStatus()
    },
  }
  if (job.chunkSize !== undefined && job.chunkSize !== null) options.chunkSize = job.chunkSize
  if (job.protocol) options.protocol = job.protocol
  if (job.urlStorage) {
    options.urlStorage = new tus.FileUrlStorage(job.urlStorage)
    options.storeFingerprintForResuming = true
  }
  return options
}

function describe(error) {
  const response = error.originalResponse
  return {
    ok: false,
    error: String(error.message ?? error),
    status: response ? response.getStatus() : null,
    body: response ? String(response.getBody() ?? '') : null,
  }
}

// First attempt; with abortAfterBytes it stops as soon as that much was accepted.
function firstAttempt(log) {
  return new Promise((resolve) => {
    let aborted = false
    const upload = new tus.Upload(openInput(), {
      ...baseOptions(log),
      onChunkComplete(_chunk, accepted) {
        if (job.abortAfterBytes !== undefined && !aborted && accepted >= job.abortAfterBytes) {
          aborted = true
          upload.abort(false).then(() => resolve({ ok: true, aborted: true, url: upload.url, accepted }))
        }
      },
      onSuccess() {
        resolve({ ok: true, aborted: false, url: upload.url })
      },
      onError(error) {
        resolve(describe(error))
      },
    })
    upload.start()
  })
}

// Second attempt: find the URL the first one stored and continue from the server's offset.
async function resume(log) {
  const result = await new Promise((resolve) => {
    const upload = new tus.Upload(openInput(), {
      ...baseOptions(log),
      onSuccess() {
        resolve({ ok: true, url: upload.url })
      },
      onError(error) {
        resolve(describe(error))
      },
    })
    upload
      .findPreviousUploads()
      .then((previous) => {
        if (previous.length === 0) {
          resolve({ ok: false, error: 'no previous upload stored', status: null, body: null })
          return
        }
        upload.resumeFromPreviousUpload(previous[0])
        upload.start()
      })
      .catch((error) => resolve(describe(error)))
  })
  return { ...result, storedUploads: (await new tus.FileUrlStorage(job.urlStorage).findAllUploads()).length }
}

const requests = []
if (job.timeoutMs) {
  setTimeout(() => {
    const result = { ok: false, error: 'timeout', status: null, body: null, requests }
    process.stdout.write(`${JSON.stringify(result)}\n`)
    process.exit(0)
  }, job.timeoutMs)
}
let result = await firstAttempt(requests)
result.requests = requests
if (result.ok && result.aborted) {
  if (!job.urlStorage) throw new Error('abortAfterBytes needs urlStorage to resume from')
  const resumeRequests = []
  const second = await resume(resumeRequests)
  result = {
    ...second,
    requests,
    abortedUrl: result.url,
    acceptedBeforeAbort: result.accepted,
    resume: resumeRequests,
  }
}
process.stdout.write(`${JSON.stringify(result)}\n`)
