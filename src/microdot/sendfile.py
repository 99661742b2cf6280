"""Responses that stream a file: the body of ``Response.send_file`` (imported on first use)."""
import os

from microdot.base import HTTPException

#: File extension to MIME type; add to it for types of your own.
TYPES = {
    'html': 'text/html', 'htm': 'text/html', 'css': 'text/css',
    'js': 'application/javascript', 'mjs': 'application/javascript',
    'json': 'application/json', 'map': 'application/json',
    'webmanifest': 'application/manifest+json', 'xml': 'application/xml',
    'txt': 'text/plain', 'md': 'text/markdown', 'csv': 'text/csv',
    'svg': 'image/svg+xml', 'png': 'image/png', 'jpg': 'image/jpeg',
    'jpeg': 'image/jpeg', 'gif': 'image/gif', 'ico': 'image/x-icon',
    'webp': 'image/webp', 'avif': 'image/avif', 'bmp': 'image/bmp',
    'woff': 'font/woff', 'woff2': 'font/woff2', 'ttf': 'font/ttf',
    'otf': 'font/otf', 'wasm': 'application/wasm', 'pdf': 'application/pdf',
    'zip': 'application/zip', 'gz': 'application/gzip',
    'mp3': 'audio/mpeg', 'wav': 'audio/wav', 'ogg': 'audio/ogg',
    'mp4': 'video/mp4', 'webm': 'video/webm',
}


def guess_type(filename):
    """The MIME type for a file name's extension (``application/octet-stream`` if unknown)."""
    base = filename.rsplit('/', 1)[-1]
    ext = base.rsplit('.', 1)[-1].lower() if '.' in base else ''
    return TYPES.get(ext, 'application/octet-stream')


def send_file(cls, filename, status_code=200, content_type=None, stream=None, max_age=None,
              compressed=False, file_extension=''):
    if content_type is None:
        # the type upstream picks: Response.types_map by the last extension (the one
        # before ``.gz`` for a compressed file), else application/octet-stream
        name = filename[:-3] if compressed and filename.endswith('.gz') else filename
        content_type = cls.types_map.get(name.split('.')[-1], 'application/octet-stream')
    headers = {'Content-Type': content_type}
    if max_age is None:
        max_age = cls.default_send_file_max_age
    if max_age is not None:
        headers['Cache-Control'] = 'max-age=' + str(max_age)
    if compressed:
        headers['Content-Encoding'] = compressed if isinstance(compressed, str) else 'gzip'
    if stream is None:
        path = filename + file_extension
        try:
            headers['Content-Length'] = str(os.stat(path)[6])
            stream = open(path, 'rb')
        except OSError:
            raise HTTPException(404, 'Not found')
    return cls(body=stream, status_code=status_code, headers=headers)
