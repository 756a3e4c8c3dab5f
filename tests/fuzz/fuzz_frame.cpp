// SPDX-License-Identifier: MIT
// libFuzzer target: the frame decoder must reject any byte stream cleanly, whole or in pieces.
#include "protocol/frame.h"

#include <QtCore/QCborMap>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using taskfleet::protocol::FrameDecoder;
    const char *bytes = reinterpret_cast<const char *>(data);
    // Small limit, so the length check is reachable by the fuzzer.
    for (quint32 limit : {quint32(4096), taskfleet::protocol::MaxFrameSize}) {
        FrameDecoder whole(limit);
        whole.append(bytes, qsizetype(size));
        QCborMap m;
        for (int i = 0; i < 10000 && whole.next(&m) == FrameDecoder::Status::Frame; ++i) {
            // A decoded frame must encode again, decode again, and encode to the same bytes.
            // (Bytes, not maps: a NaN never compares equal to itself; found by this target.)
            const QByteArray again = taskfleet::protocol::encodeFrame(m);
            FrameDecoder check(taskfleet::protocol::MaxFrameSize);
            check.append(again);
            QCborMap m2;
            if (check.next(&m2) != FrameDecoder::Status::Frame || taskfleet::protocol::encodeFrame(m2) != again)
                __builtin_trap();
        }
        // The same stream fed in 7-byte pieces gives the same number of frames.
        FrameDecoder pieces(limit);
        for (size_t off = 0; off < size; off += 7) {
            pieces.append(bytes + off, qsizetype(std::min<size_t>(7, size - off)));
            for (int i = 0; i < 10000 && pieces.next(&m) == FrameDecoder::Status::Frame; ++i) { }
        }
    }
    return 0;
}
