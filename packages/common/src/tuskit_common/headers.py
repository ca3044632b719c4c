"""Every header name and fixed value of the tus 1.0.0 wire protocol, in one place.

No other tuskit package spells a header name: client and server import them from here so the
two sides can never drift apart. Values are plain ``str``; aiohttp's ``CIMultiDict`` compares
them case-insensitively. Pure data, no I/O.
"""

from typing import Final

#: The protocol version this toolkit speaks (``Tus-Resumable`` / ``Tus-Version``).
PROTOCOL_VERSION: Final = "1.0.0"
#: Versions the server accepts, preferred first (the ``Tus-Version`` value).
SUPPORTED_VERSIONS: Final = (PROTOCOL_VERSION,)
#: Media type required on PATCH (and POST with data) bodies.
OFFSET_OCTET_STREAM: Final = "application/offset+octet-stream"

# tus protocol headers (spec §1.1 and the extensions).
TUS_RESUMABLE: Final = "Tus-Resumable"
TUS_VERSION: Final = "Tus-Version"
TUS_EXTENSION: Final = "Tus-Extension"
TUS_MAX_SIZE: Final = "Tus-Max-Size"
TUS_CHECKSUM_ALGORITHM: Final = "Tus-Checksum-Algorithm"
UPLOAD_OFFSET: Final = "Upload-Offset"
UPLOAD_LENGTH: Final = "Upload-Length"
UPLOAD_DEFER_LENGTH: Final = "Upload-Defer-Length"
UPLOAD_METADATA: Final = "Upload-Metadata"
UPLOAD_CONCAT: Final = "Upload-Concat"
UPLOAD_EXPIRES: Final = "Upload-Expires"
UPLOAD_CHECKSUM: Final = "Upload-Checksum"
X_HTTP_METHOD_OVERRIDE: Final = "X-HTTP-Method-Override"

# General HTTP headers the protocol gives a tus meaning to.
CONTENT_TYPE: Final = "Content-Type"
CONTENT_LENGTH: Final = "Content-Length"
CACHE_CONTROL: Final = "Cache-Control"
LOCATION: Final = "Location"
RETRY_AFTER: Final = "Retry-After"
EXPECT: Final = "Expect"
AUTHORIZATION: Final = "Authorization"
ALLOW: Final = "Allow"
VARY: Final = "Vary"
ORIGIN: Final = "Origin"
FORWARDED: Final = "Forwarded"
X_FORWARDED_HOST: Final = "X-Forwarded-Host"
X_FORWARDED_PROTO: Final = "X-Forwarded-Proto"
X_REQUEST_ID: Final = "X-Request-ID"
X_REQUESTED_WITH: Final = "X-Requested-With"
X_CONTENT_TYPE_OPTIONS: Final = "X-Content-Type-Options"
CONTENT_DISPOSITION: Final = "Content-Disposition"

# CORS (Fetch standard) headers.
ACCESS_CONTROL_ALLOW_ORIGIN: Final = "Access-Control-Allow-Origin"
ACCESS_CONTROL_ALLOW_CREDENTIALS: Final = "Access-Control-Allow-Credentials"
ACCESS_CONTROL_ALLOW_METHODS: Final = "Access-Control-Allow-Methods"
ACCESS_CONTROL_ALLOW_HEADERS: Final = "Access-Control-Allow-Headers"
ACCESS_CONTROL_EXPOSE_HEADERS: Final = "Access-Control-Expose-Headers"
ACCESS_CONTROL_MAX_AGE: Final = "Access-Control-Max-Age"
ACCESS_CONTROL_REQUEST_METHOD: Final = "Access-Control-Request-Method"
ACCESS_CONTROL_REQUEST_HEADERS: Final = "Access-Control-Request-Headers"

#: Cache-Control value a HEAD response MUST carry.
NO_STORE: Final = "no-store"

#: Request headers a browser client sends: what a CORS preflight must allow.
REQUEST_HEADERS: Final = (
    AUTHORIZATION,
    CONTENT_TYPE,
    ORIGIN,
    X_REQUESTED_WITH,
    X_REQUEST_ID,
    X_HTTP_METHOD_OVERRIDE,
    TUS_RESUMABLE,
    UPLOAD_LENGTH,
    UPLOAD_OFFSET,
    UPLOAD_METADATA,
    UPLOAD_DEFER_LENGTH,
    UPLOAD_CONCAT,
    UPLOAD_CHECKSUM,
)

#: Response headers a browser client must be able to read: the CORS expose list.
RESPONSE_HEADERS: Final = (
    UPLOAD_OFFSET,
    LOCATION,
    UPLOAD_LENGTH,
    TUS_VERSION,
    TUS_RESUMABLE,
    TUS_MAX_SIZE,
    TUS_EXTENSION,
    UPLOAD_METADATA,
    UPLOAD_DEFER_LENGTH,
    UPLOAD_CONCAT,
    UPLOAD_EXPIRES,
    TUS_CHECKSUM_ALGORITHM,
)
