#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpora for the fuzz targets (run once; the files are kept in the repo).
import os, struct, sys

def head(major, n):
    m = major << 5
    if n < 24: return bytes([m | n])
    if n < 256: return bytes([m | 24, n])
    if n < 65536: return bytes([m | 25]) + struct.pack('>H', n)
    if n < 2**32: return bytes([m | 26]) + struct.pack('>I', n)
    return bytes([m | 27]) + struct.pack('>Q', n)

def cbor(v):
    if isinstance(v, bool): return b'\xf5' if v else b'\xf4'
    if v is None: return b'\xf6'
    if isinstance(v, int): return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, float): return b'\xfb' + struct.pack('>d', v)
    if isinstance(v, bytes): return head(2, len(v)) + v
    if isinstance(v, str): b = v.encode(); return head(3, len(b)) + b
    if isinstance(v, list): return head(4, len(v)) + b''.join(cbor(x) for x in v)
    if isinstance(v, dict): return head(5, len(v)) + b''.join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(v)

def frame(m):
    b = cbor(m)
    return struct.pack('>I', len(b)) + b

sha = 'a' * 64
messages = {
    'hello': {'t': 'hello', 'major': 1, 'minor': 0, 'role': 'agent', 'node': '{00000000-0000-0000-0000-000000000001}',
              'host': 'h', 'abi': 'x86_64-little_endian-lp64', 'qt': '6.4.2', 'cores': 2, 'workers': 2},
    'run': {'t': 'run', 'plugin': sha, 'timeout': 0, 'tasks': [1, 100000, 2, 'x', 3, {'a': [1, 2]}]},
    'res': {'t': 'res', 'r': [1, 0, 454396537, 15000, 2, 1, 'bad input', 3]},
    'results': {'t': 'results', 'r': [1, 0, 5, 10, 2, 2, 'crash', 20]},
    'cancel': {'t': 'cancel', 'ids': [1, 2, 3]},
    'status': {'t': 'status', 'workers': 2, 'busy': 1, 'queued': 5, 'capacity': 8, 'done': 10, 'failures': 0},
    'setworkers': {'t': 'set-workers', 'count': 4},
    'pluginquery': {'t': 'plugin-query', 'sha256': sha, 'name': 'echo'},
    'pluginupload': {'t': 'plugin-upload', 'sha256': sha, 'name': 'echo', 'data': b'\x7fELF' + b'\0' * 60},
    'workerrun': {'t': 'run', 'p': '/x/libtaskfleet_echo.so', 'to': 1000, 'k': [1, 5, 2, 'six']},
    'error': {'t': 'error', 'text': 'nope'},
}
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
def put(target, name, data):
    with open(os.path.join(root, target, name), 'wb') as f:
        f.write(data)

for name, m in messages.items():
    put('messages', name, cbor(m))
    put('frame', name, frame(m))
put('frame', 'two', frame(messages['hello']) + frame(messages['run']))
put('frame', 'empty', struct.pack('>I', 0))
for kind in 'AP':
    payload = {'pv': [1, 0], 'node': bytes(range(16)), 'host': 'node-a', 'port': 45450, 'wt': 2, 'wb': 0,
               'ts': 1800000000000, 'nonce': bytes(range(16, 32))}
    put('beacon', 'beacon' + kind, b'TFB1' + kind.encode() + cbor(payload))
jobs_dir = os.path.join(os.path.dirname(root), '..', '..', 'resources', 'jobs')
for f in sorted(os.listdir(jobs_dir)):
    if f.endswith('.json'):
        put('jobfile', f, open(os.path.join(jobs_dir, f), 'rb').read())
put('jobfile', 'range.json', b'{"plugin": "echo", "inputs": {"range": [0, 10, 2]}, "retries": 1, "timeout": 2.5, "priority": 3}')
put('jobfile', 'lines.json', b'{"plugin": "echo", "inputs": {"lines": "missing.txt"}}')
