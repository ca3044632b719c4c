// Start the official Node.js tus server (@tus/server with @tus/file-store) on a loopback port.
//
//   node tus_node_server.mjs --modules <npm prefix> --dir <upload dir> [--port 0] [--path /files]
//   node tus_node_server.mjs --modules <npm prefix> --s3-bucket B --s3-endpoint URL [...]
//
// With --s3-bucket the store is @tus/s3-store on that bucket (credentials and region from the
// AWS environment variables; --s3-endpoint for an S3-compatible server such as moto).
//
// The npm packages are not installed next to this script: the interop session runs
// `npm ci --prefix <cache>` and passes that prefix as --modules, so they are resolved from
// there. Once listening, one JSON line {"url": "http://127.0.0.1:<port>/files"} goes to stdout;
// SIGTERM or SIGINT closes the server and exits 0.
import { createRequire } from 'node:module'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'

const { values } = parseArgs({
  options: {
    modules: { type: 'string' },
    dir: { type: 'string' },
    port: { type: 'string', default: '0' },
    path: { type: 'string', default: '/files' },
    's3-bucket': { type: 'string' },
    's3-endpoint': { type: 'string' },
  },
})
if (!values.modules || !(values.dir || values['s3-bucket'])) {
  process.stderr.write(
    'usage: tus_node_server.mjs --modules <npm prefix> (--dir <upload dir> | --s3-bucket B)\n',
  )
  process.exit(2)
}

// Resolve a package the way `import` would from inside the npm prefix.
const requireFromPrefix = createRequire(path.join(path.resolve(values.modules), 'index.js'))
const load = (name) => import(pathToFileURL(requireFromPrefix.resolve(name)).href)

const { Server } = await load('@tus/server')

async function datastore() {
  if (!values['s3-bucket']) {
    const { FileStore } = await load('@tus/file-store')
    return new FileStore({ directory: path.resolve(values.dir) })
  }
  const { S3Store } = await load('@tus/s3-store')
  return new S3Store({
    s3ClientConfig: {
      bucket: values['s3-bucket'],
      region: process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      endpoint: values['s3-endpoint'],
      forcePathStyle: true,
    },
  })
}

const tus = new Server({ path: values.path, datastore: await datastore() })
const http = tus.listen({ host: '127.0.0.1', port: Number(values.port) })

http.on('listening', () => {
  const { port } = http.address()
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}${values.path}` })}\n`)
})
http.on('error', (error) => {
  process.stderr.write(`tus_node_server: ${error.stack ?? error}\n`)
  process.exit(1)
})

const stop = () => {
  http.close(() => process.exit(0))
  // Idle keep-alive sockets would hold close() open; drop them.
  http.closeAllConnections()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
