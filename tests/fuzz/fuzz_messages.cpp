// SPDX-License-Identifier: MIT
// libFuzzer target: every message decoder (controller <-> agent and pool <-> worker) on arbitrary CBOR.
#include "exec/workerprotocol.h"
#include "protocol/frame.h"
#include "protocol/messages.h"

#include <QtCore/QCborStreamReader>

using namespace taskfleet;

// Every decoder on one map: the fuzzer looks for crashes and undefined behaviour, not verdicts.
static void decodeAll(const QCborMap &m)
{
    QString error;
    (void)protocol::messageType(m, &error);
    {
        protocol::Hello x;
        (void)protocol::decode(m, &x, &error);
    }
    {
        protocol::Run x;
        (void)protocol::decode(m, &x, &error);
    }
    {
        protocol::Results x;
        (void)protocol::decode(m, &x, &error);
    }
    {
        protocol::Cancel x;
        (void)protocol::decode(m, &x, &error);
    }
    {
        protocol::Status x;
        (void)protocol::decode(m, &x, &error);
    }
    {
        protocol::SetWorkers x;
        (void)protocol::decode(m, &x, &error);
    }
    {
        protocol::PluginQuery x;
        (void)protocol::decode(m, &x, &error);
    }
    {
        protocol::PluginHave x;
        (void)protocol::decode(m, &x, &error);
    }
    {
        protocol::PluginUpload x;
        (void)protocol::decode(m, &x, &error);
    }
    {
        protocol::PluginStored x;
        (void)protocol::decode(m, &x, &error);
    }
    {
        protocol::PluginRejected x;
        (void)protocol::decode(m, &x, &error);
    }
    {
        protocol::ErrorMessage x;
        (void)protocol::decode(m, &x, &error);
    }
    {
        protocol::Heartbeat x;
        (void)protocol::decode(m, &x, &error);
    }
    {
        exec::WorkBatch x;
        (void)exec::decodeRun(m, &x, &error);
    }
    {
        QVector<exec::WorkResult> x;
        (void)exec::decodeResults(m, &x, &error);
    }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray bytes = QByteArray::fromRawData(reinterpret_cast<const char *>(data), qsizetype(size));
    // As a bare CBOR value (reaches the decoders without a length prefix). Like FrameDecoder, use
    // the value only when it decoded without error: on malformed input Qt 6.4 may return a
    // half-built map that crashes when read (found by this target).
    QCborParserError parseError;
    const QCborValue v = QCborValue::fromCbor(bytes, &parseError);
    if (parseError.error == QCborError::NoError && v.isMap())
        decodeAll(v.toMap());
    // ... and as a framed stream, as a peer would send it.
    protocol::FrameDecoder decoder(1 << 20);
    decoder.append(bytes);
    QCborMap m;
    for (int i = 0; i < 1000 && decoder.next(&m) == protocol::FrameDecoder::Status::Frame; ++i)
        decodeAll(m);
    return 0;
}
