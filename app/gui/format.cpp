// SPDX-License-Identifier: MIT
// Short human texts for values shown in tables.
#include "format.h"

#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QHash>
#include <QtCore/QSettings>

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QCborStreamWriter>
#include <QtCore/QIODevice>
#include <QtCore/QSaveFile>

namespace taskfleet::gui {

bool commitSaveFile(QSaveFile &file, QString *error)
{
    if (!file.flush() || file.error() != QFileDevice::NoError) {
        *error = QStringLiteral("%1: %2").arg(file.fileName(), file.errorString());
        file.cancelWriting();
        return false;
    }
    if (!file.commit()) {
        *error = QStringLiteral("%1: %2").arg(file.fileName(), file.errorString());
        return false;
    }
    return true;
}

namespace {
/**
 * Keeps the first bytes written to it and counts the rest: a QCborValue's string or byte string is written
 * in one piece, so its size and first bytes cost a copy of those bytes only (QCborValue::toString() would
 * convert a 50 MB text whole, at every paint of its cell).
 */
class PrefixDevice : public QIODevice
{
public:
    explicit PrefixDevice(qsizetype keep)
        : m_keep(keep)
    {
        open(QIODevice::WriteOnly | QIODevice::Unbuffered);
    }
    QByteArray prefix;
    qint64 total = 0;

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *data, qint64 size) override
    {
        if (prefix.size() < m_keep)
            prefix.append(data, qsizetype(std::min<qint64>(size, m_keep - prefix.size())));
        total += size;
        return size;
    }

private:
    qsizetype m_keep;
};

/** The size of a text or byte string value and its first \a keep bytes (UTF-8 for a text). */
QByteArray stringPrefix(const QCborValue &value, qsizetype keep, qint64 *size)
{
    PrefixDevice device(keep + 9); // the CBOR head: at most 9 bytes
    QCborStreamWriter writer(&device);
    value.toCbor(writer);
    // The head: the additional info of the first byte says how many length bytes follow.
    const QByteArray &p = device.prefix;
    const int info = p.isEmpty() ? 0 : quint8(p.at(0)) & 0x1f;
    const int head = 1 + (info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : info == 27 ? 8 : 0);
    *size = device.total - head;
    return p.mid(head, keep);
}

/** "1.5 kB", "47.7 MB": a value's size for people. */
QString bytesText(qint64 bytes)
{
    if (bytes < 1000)
        return QStringLiteral("%1 bytes").arg(bytes);
    if (bytes < 1000 * 1000)
        return QStringLiteral("%1 kB").arg(double(bytes) / 1e3, 0, 'f', 1);
    if (bytes < 1000LL * 1000 * 1000)
        return QStringLiteral("%1 MB").arg(double(bytes) / 1e6, 0, 'f', 1);
    return QStringLiteral("%1 GB").arg(double(bytes) / 1e9, 0, 'f', 2);
}

void append(const QCborValue &value, QString *out, int maxChars, int depth)
{
    if (out->size() > maxChars)
        return;
    switch (value.type()) {
    case QCborValue::ByteArray: {
        qint64 size = 0;
        const QByteArray first = stringPrefix(value, 16, &size);
        *out += QStringLiteral("<%1 bytes").arg(size);
        if (size > 0)
            *out += QStringLiteral(": ") + QString::fromLatin1(first.toHex(' '))
                    + (size > 16 ? QStringLiteral(" …") : QString());
        *out += QLatin1Char('>');
        break;
    }
    case QCborValue::String: {
        // At most the bytes that can be shown (4 per character at worst), cut at a character's boundary.
        qint64 size = 0;
        const qsizetype keep = qsizetype(maxChars - out->size() + 1) * 4;
        QByteArray first = stringPrefix(value, keep, &size);
        const bool cut = size > first.size();
        while (cut && !first.isEmpty() && (quint8(first.back()) & 0xc0) == 0x80)
            first.chop(1); // a continuation byte: the character it belongs to may be incomplete
        if (cut && !first.isEmpty() && quint8(first.back()) >= 0xc0)
            first.chop(1);
        const QString s = QString::fromUtf8(first);
        if (cut && size >= BigValueBytes)
            *out += QStringLiteral("<%1 text> ").arg(bytesText(size)); // a big value: its size before its start
        *out += depth == 0 ? s : QLatin1Char('"') + s + QLatin1Char('"');
        if (cut)
            *out += QChar(0x2026);
        break;
    }
    case QCborValue::Array: {
        *out += QLatin1Char('[');
        const QCborArray a = value.toArray();
        for (qsizetype i = 0; i < a.size() && out->size() <= maxChars; ++i) {
            if (i)
                *out += QStringLiteral(", ");
            append(a.at(i), out, maxChars, depth + 1);
        }
        *out += QLatin1Char(']');
        break;
    }
    case QCborValue::Map: {
        *out += QLatin1Char('{');
        const QCborMap m = value.toMap();
        bool first = true;
        for (auto it = m.constBegin(); it != m.constEnd() && out->size() <= maxChars; ++it) {
            if (!first)
                *out += QStringLiteral(", ");
            first = false;
            *out += it.key().isString() ? it.key().toString() : it.key().toDiagnosticNotation();
            *out += QStringLiteral(": ");
            append(it.value(), out, maxChars, depth + 1);
        }
        *out += QLatin1Char('}');
        break;
    }
    case QCborValue::Double:
        *out += QString::number(value.toDouble(), 'g', 12);
        break;
    default:
        *out += value.toDiagnosticNotation();
        break;
    }
}
} // namespace

QString summarizeValue(const QCborValue &value, int maxChars)
{
    QString out;
    append(value, &out, maxChars, 0);
    if (out.size() > maxChars) {
        out.truncate(maxChars);
        out += QChar(0x2026);
    }
    return out;
}

QString formatDuration(double seconds)
{
    if (seconds < 0)
        return QStringLiteral("\u2013");
    const qint64 s = qint64(seconds + 0.5);
    if (s >= 3600)
        return QStringLiteral("%1:%2:%3")
            .arg(s / 3600)
            .arg((s / 60) % 60, 2, 10, QLatin1Char('0'))
            .arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

QString formatSeconds(double seconds)
{
    if (seconds < 1)
        return QStringLiteral("%1 ms").arg(seconds * 1000, 0, 'f', seconds < 0.01 ? 2 : 1);
    return QStringLiteral("%1 s").arg(seconds, 0, 'f', 2);
}

QString formatRate(double perSecond)
{
    return QString::number(perSecond, 'f', perSecond >= 100 ? 0 : (perSecond >= 10 ? 1 : 2));
}

QString countOf(qint64 count, const QString &singular, const QString &plural)
{
    return QStringLiteral("%1 %2").arg(count).arg(count == 1 ? singular : plural);
}

namespace {
// Hues from green to purple only: no red, orange, brown or pink, which are the task map's failed and
// error colours (an orange node read as errors); none grey either (queued, cancelled).
// Sixteen, so that as many nodes get a colour of their own; the second eight darker or lighter than the first.
constexpr QRgb NodeColors[] = {0x1e88e5, 0x43a047, 0x8e24aa, 0x00acc1, 0x3949ab, 0x7cb342, 0x00897b, 0x5e35b1,
                               0x0d47a1, 0x33691e, 0x42a5f5, 0xab47bc, 0x00695c, 0x9ccc65, 0x5c6bc0, 0x4dd0e1};
constexpr int NodeColorCount = int(sizeof NodeColors / sizeof NodeColors[0]);
/** Names the book keeps at most (a node seen after that still gets its hashed colour, not remembered). */
constexpr int MaxBookedNodes = 4096;
const QString BookKey = QStringLiteral("nodeColors/byName");

/** Which node has which colour (a palette index), and where that is remembered. */
struct ColorBook {
    QHash<QString, int> byName;
    int users[NodeColorCount] = {};
    QString file; ///< empty: not remembered
};

ColorBook &book()
{
    static ColorBook b;
    return b;
}

int paletteIndex(QRgb rgb)
{
    for (int i = 0; i < NodeColorCount; ++i)
        if ((NodeColors[i] & 0xffffff) == (rgb & 0xffffff))
            return i;
    return -1;
}

int hashedIndex(const QString &nodeName)
{
    // FNV-1a of the UTF-8, the same in every process (unlike qHash).
    quint32 hash = 2166136261u;
    const QByteArray bytes = nodeName.toUtf8();
    for (char c : bytes) {
        hash ^= quint8(c);
        hash *= 16777619u;
    }
    return int(hash % quint32(NodeColorCount));
}
} // namespace

void useNodeColorBook(const QString &file)
{
    ColorBook &b = book();
    b = ColorBook {};
    b.file = file;
    if (file.isEmpty())
        return;
    const QVariantMap stored = QSettings(file, QSettings::IniFormat).value(BookKey).toMap();
    for (auto it = stored.cbegin(); it != stored.cend() && b.byName.size() < MaxBookedNodes; ++it) {
        const int index = paletteIndex(QColor(it.value().toString()).rgb());
        if (index < 0 || it.key().isEmpty())
            continue; // a colour this palette no longer has: the node is given one again
        b.byName.insert(it.key(), index);
        ++b.users[index];
    }
}

QString defaultNodeColorBook()
{
    return QFileInfo(QSettings().fileName()).absoluteDir().filePath(QStringLiteral("node-colors.ini"));
}

QVector<QColor> nodePalette()
{
    QVector<QColor> colors;
    for (QRgb c : NodeColors)
        colors.append(QColor(c));
    return colors;
}

QColor nodeColor(const QString &nodeName)
{
    if (nodeName.isEmpty())
        return QColor(Qt::gray);
    ColorBook &b = book();
    if (const auto it = b.byName.constFind(nodeName); it != b.byName.cend())
        return QColor(NodeColors[*it]);
    // The first colour of the palette no node has (the palette is ordered so that neighbours differ most: blue,
    // green, purple, cyan, ...), so the first nodes all differ and the first few differ plainly; a hashed pick
    // put two purples side by side for three nodes. When all are taken, its hashed colour. The book keeps it, so
    // the order nodes appear in later (another start of the app) changes nothing.
    const int hashed = hashedIndex(nodeName);
    int index = hashed;
    for (int k = 0; k < NodeColorCount; ++k)
        if (b.users[k] == 0) {
            index = k;
            break;
        }
    if (b.byName.size() >= MaxBookedNodes)
        return QColor(NodeColors[hashed]);
    b.byName.insert(nodeName, index);
    ++b.users[index];
    if (!b.file.isEmpty()) {
        QSettings settings(b.file, QSettings::IniFormat);
        QVariantMap stored = settings.value(BookKey).toMap();
        stored.insert(nodeName, QColor(NodeColors[index]).name());
        settings.setValue(BookKey, stored);
    }
    return QColor(NodeColors[index]);
}

} // namespace taskfleet::gui
