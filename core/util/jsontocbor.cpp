// SPDX-License-Identifier: MIT
#include "jsontocbor.h"

#include "cborstring.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QVarLengthArray>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <limits>

namespace taskfleet::util {

namespace {

constexpr int MaxDepth = 512;

class Parser
{
public:
    explicit Parser(const QByteArray &json, const JsonReadOptions &options = {})
        : m_p(json.constData())
        , m_begin(json.constData())
        , m_end(json.constData() + json.size())
        , m_topInputs(options.topLevelInputs)
        , m_uniqueKeys(options.uniqueKeys)
    {
    }

    bool parse(QCborValue *out)
    {
        skipSpace();
        if (!value(out, 0))
            return false;
        skipSpace();
        if (m_p != m_end)
            return fail(QStringLiteral("unexpected text after the JSON value"));
        return true;
    }

    QString error() const { return m_error; }
    JsonRefusal refusal() const { return m_refusal; }

private:
    /** "line L, column C" of \a at (a column counts characters, not UTF-8 bytes). */
    QString position(const char *at) const
    {
        int line = 1, column = 1;
        for (const char *c = m_begin; c < at && c < m_end; ++c) {
            if (*c == '\n') {
                ++line;
                column = 1;
            } else if ((uchar(*c) & 0xC0) != 0x80) { // count characters, not UTF-8 continuation bytes
                ++column;
            }
        }
        return QStringLiteral("line %1, column %2").arg(line).arg(column);
    }

    bool fail(const QString &what, JsonRefusal refusal = JsonRefusal::NotJson)
    {
        if (!m_error.isEmpty())
            return false;
        m_error = QStringLiteral("%1: %2").arg(position(m_p), what);
        m_refusal = refusal;
        return false;
    }

    /**
     * At a value that is not JSON: if it is a NaN or an infinity as Python's json module (and JavaScript,
     * and C's printf) spell them, says so, rather than "expected a JSON value".
     */
    bool failNonFinite()
    {
        const char *q = m_p;
        if (q < m_end && (*q == '-' || *q == '+'))
            ++q;
        while (q < m_end && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
            ++q;
        const QByteArray word(m_p, q - m_p);
        const QByteArray bare = word.toLower().mid(word.startsWith('-') || word.startsWith('+') ? 1 : 0);
        if (bare != "nan" && bare != "inf" && bare != "infinity")
            return fail(QStringLiteral("expected a JSON value"));
        return fail(
            QStringLiteral("%1 is not a JSON value: JSON has no NaN or infinity (give it as text, e.g. "
                           "\"%2\", and convert it in the task: float(\"%2\") in Python)")
                .arg(QString::fromLatin1(word), QString::fromLatin1(word.startsWith('+') ? word.mid(1) : word)));
    }

    void skipSpace()
    {
        while (m_p < m_end && (*m_p == ' ' || *m_p == '\t' || *m_p == '\n' || *m_p == '\r'))
            ++m_p;
    }

    bool literal(const char *word, QCborValue v, QCborValue *out)
    {
        const qsizetype n = qsizetype(std::strlen(word));
        if (m_end - m_p < n || std::memcmp(m_p, word, size_t(n)) != 0)
            return failNonFinite();
        m_p += n;
        *out = std::move(v);
        return true;
    }

    bool value(QCborValue *out, int depth)
    {
        if (depth > MaxDepth)
            return fail(QStringLiteral("nested more than %1 levels deep").arg(MaxDepth));
        if (m_p >= m_end)
            return fail(QStringLiteral("the text ends where a value should be"));
        switch (*m_p) {
        case '{':
            return object(out, depth);
        case '[':
            return array(out, depth);
        case '"':
            return stringValue(out);
        case 't':
            return literal("true", QCborValue(true), out);
        case 'f':
            return literal("false", QCborValue(false), out);
        case 'n':
            return literal("null", QCborValue(nullptr), out);
        default:
            return number(out);
        }
    }

    bool object(QCborValue *out, int depth)
    {
        ++m_p; // {
        QCborMap map;
        QVarLengthArray<const char *, 16> keyStarts; // with m_uniqueKeys: where each key is, to name the first
        skipSpace();
        if (m_p < m_end && *m_p == '}') {
            ++m_p;
            *out = map;
            return true;
        }
        for (;;) {
            skipSpace();
            if (m_p >= m_end || *m_p != '"')
                return fail(QStringLiteral("expected a key in double quotes"));
            const char *keyStart = m_p;
            QString key;
            if (!string(&key))
                return false;
            skipSpace();
            if (m_p >= m_end || *m_p != ':')
                return fail(QStringLiteral("expected ':' after the key \"%1\"").arg(key.left(40)));
            ++m_p;
            skipSpace();
            QCborValue v;
            if (depth == 0 && m_topInputs && key == QLatin1String("inputs")) {
                // A job file's inputs stay values of their own: appending a big one to an array would copy it.
                m_topInputs->clear();
                if (m_p < m_end && *m_p == '[') {
                    if (!elements(depth + 1, [this](const QCborValue &e) { m_topInputs->append(e); }))
                        return false;
                    v = QCborArray();
                } else if (!value(&v, depth + 1)) {
                    return false;
                }
            } else if (!value(&v, depth + 1)) {
                return false;
            }
            const qsizetype before = map.size();
            map.insert(key, v); // a repeated key keeps the last value, as QJsonDocument does
            if (m_uniqueKeys) {
                if (map.size() == before) // the key was there: the map's own lookup found it, at no extra cost
                    return failDuplicate(key, keyStart, keyStarts);
                keyStarts.append(keyStart);
            }
            skipSpace();
            if (m_p < m_end && *m_p == ',') {
                ++m_p;
                continue;
            }
            if (m_p < m_end && *m_p == '}') {
                ++m_p;
                *out = map;
                return true;
            }
            return fail(QStringLiteral("expected ',' or '}' in an object"));
        }
    }

    /** Refuses the object whose key \a key at \a second repeats one of the keys at \a earlier. */
    bool failDuplicate(const QString &key, const char *second, const QVarLengthArray<const char *, 16> &earlier)
    {
        QString first;
        const char *const resume = m_p;
        for (const char *at : earlier) {
            m_p = at;
            QString k;
            if (string(&k) && k == key) { // read before, so it reads again without error
                first = position(at);
                break;
            }
        }
        m_p = second;
        QString shown = key.left(80);
        shown.replace(QLatin1Char('\\'), QLatin1String("\\\\")).replace(QLatin1Char('"'), QLatin1String("\\\""));
        const bool refused
            = fail(QStringLiteral("duplicate key \"%1\"%2: a key may appear only once in an object")
                       .arg(shown, first.isEmpty() ? QString() : QStringLiteral(" (first at %1)").arg(first)),
                   JsonRefusal::DuplicateKey);
        m_p = resume;
        return refused;
    }

    bool array(QCborValue *out, int depth)
    {
        QCborArray a;
        if (!elements(depth, [&a](const QCborValue &v) { a.append(v); }))
            return false;
        *out = a;
        return true;
    }

    /** The elements of the array at m_p, each handed to \a add as it is parsed. */
    template <typename Add>
    bool elements(int depth, Add add)
    {
        ++m_p; // [
        skipSpace();
        if (m_p < m_end && *m_p == ']') {
            ++m_p;
            return true;
        }
        for (;;) {
            skipSpace();
            QCborValue v;
            if (!value(&v, depth + 1))
                return false;
            add(v);
            skipSpace();
            if (m_p < m_end && *m_p == ',') {
                ++m_p;
                continue;
            }
            if (m_p < m_end && *m_p == ']') {
                ++m_p;
                return true;
            }
            return fail(QStringLiteral("expected ',' or ']' in an array"));
        }
    }

    static int hexValue(char c)
    {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    }

    bool hex4(char16_t *unit)
    {
        if (m_end - m_p < 4)
            return fail(QStringLiteral("\\u needs four hex digits"));
        int v = 0;
        for (int i = 0; i < 4; ++i) {
            const int h = hexValue(m_p[i]);
            if (h < 0)
                return fail(QStringLiteral("\\u needs four hex digits"));
            v = v * 16 + h;
        }
        m_p += 4;
        *unit = char16_t(v);
        return true;
    }

    static void appendUtf8(QByteArray *out, char32_t cp)
    {
        if (cp < 0x80) {
            out->append(char(cp));
        } else if (cp < 0x800) {
            out->append(char(0xC0 | (cp >> 6)));
            out->append(char(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out->append(char(0xE0 | (cp >> 12)));
            out->append(char(0x80 | ((cp >> 6) & 0x3F)));
            out->append(char(0x80 | (cp & 0x3F)));
        } else {
            out->append(char(0xF0 | (cp >> 18)));
            out->append(char(0x80 | ((cp >> 12) & 0x3F)));
            out->append(char(0x80 | ((cp >> 6) & 0x3F)));
            out->append(char(0x80 | (cp & 0x3F)));
        }
    }

    /**
     * Reads the string at m_p (its opening quote) as UTF-8 bytes, not yet validated: *data points into the
     * JSON text itself when the string has no escapes (no copy at all), else into *built, where the
     * unescaped bytes are gathered in runs (never character by character).
     */
    bool stringBytes(const char **data, qsizetype *size, QByteArray *built)
    {
        ++m_p; // "
        const char *runStart = m_p;
        bool escaped = false;
        while (m_p < m_end) {
            const char *q = findJsonSpecial(m_p, m_end);
            if (escaped)
                built->append(m_p, q - m_p);
            m_p = q;
            if (m_p >= m_end)
                break;
            const char c = *m_p;
            if (c == '"') {
                *data = escaped ? built->constData() : runStart;
                *size = escaped ? built->size() : m_p - runStart;
                ++m_p;
                return true;
            }
            if (uchar(c) < 0x20)
                return fail(QStringLiteral("a control character inside a string must be escaped"));
            if (!escaped) {
                escaped = true;
                built->append(runStart, m_p - runStart);
            }
            ++m_p; // backslash
            if (m_p >= m_end)
                break;
            const char e = *m_p++;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                built->append(e);
                break;
            case 'b':
                built->append('\b');
                break;
            case 'f':
                built->append('\f');
                break;
            case 'n':
                built->append('\n');
                break;
            case 'r':
                built->append('\r');
                break;
            case 't':
                built->append('\t');
                break;
            case 'u': {
                const char *at = m_p - 2;
                char16_t unit = 0;
                if (!hex4(&unit))
                    return false;
                if (QChar::isLowSurrogate(unit)) {
                    m_p = at;
                    return fail(QStringLiteral("\\u%1 is a lone low surrogate, which is no character")
                                    .arg(int(unit), 4, 16, QLatin1Char('0')));
                }
                if (QChar::isHighSurrogate(unit)) {
                    char16_t low = 0;
                    if (m_end - m_p < 6 || m_p[0] != '\\' || m_p[1] != 'u') {
                        m_p = at;
                        return fail(QStringLiteral("\\u%1 is a lone high surrogate, which is no character")
                                        .arg(int(unit), 4, 16, QLatin1Char('0')));
                    }
                    m_p += 2;
                    if (!hex4(&low))
                        return false;
                    if (!QChar::isLowSurrogate(low)) {
                        m_p = at;
                        return fail(QStringLiteral("\\u%1 is a high surrogate not followed by a low one")
                                        .arg(int(unit), 4, 16, QLatin1Char('0')));
                    }
                    appendUtf8(built, QChar::surrogateToUcs4(unit, low));
                } else {
                    appendUtf8(built, unit);
                }
                break;
            }
            default:
                m_p -= 2;
                return fail(QStringLiteral("unknown escape \\%1 in a string").arg(QLatin1Char(e)));
            }
        }
        return fail(QStringLiteral("a string is not closed"));
    }

    /** A string value: its bytes become a CBOR text string with one copy, never through a QString. */
    bool stringValue(QCborValue *out)
    {
        const char *data = nullptr;
        qsizetype size = 0;
        QByteArray built;
        if (!stringBytes(&data, &size, &built))
            return false;
        if (!textFromUtf8(data, size, out))
            return fail(QStringLiteral("a string holds bytes that are not valid UTF-8"));
        return true;
    }

    /** An object key: short text, wanted as a QString. */
    bool string(QString *out)
    {
        QCborValue v;
        if (!stringValue(&v))
            return false;
        *out = v.toString();
        return true;
    }

    bool number(QCborValue *out)
    {
        const char *start = m_p;
        if (m_p < m_end && *m_p == '-')
            ++m_p;
        if (m_p >= m_end || !(*m_p >= '0' && *m_p <= '9')) {
            m_p = start;
            return failNonFinite();
        }
        if (*m_p == '0' && m_p + 1 < m_end && m_p[1] >= '0' && m_p[1] <= '9')
            return fail(QStringLiteral("a number may not start with 0"));
        while (m_p < m_end && *m_p >= '0' && *m_p <= '9')
            ++m_p;
        bool integral = true;
        if (m_p < m_end && *m_p == '.') {
            integral = false;
            ++m_p;
            if (m_p >= m_end || !(*m_p >= '0' && *m_p <= '9'))
                return fail(QStringLiteral("a digit must follow the decimal point"));
            while (m_p < m_end && *m_p >= '0' && *m_p <= '9')
                ++m_p;
        }
        if (m_p < m_end && (*m_p == 'e' || *m_p == 'E')) {
            integral = false;
            ++m_p;
            if (m_p < m_end && (*m_p == '+' || *m_p == '-'))
                ++m_p;
            if (m_p >= m_end || !(*m_p >= '0' && *m_p <= '9'))
                return fail(QStringLiteral("a digit must follow the exponent"));
            while (m_p < m_end && *m_p >= '0' && *m_p <= '9')
                ++m_p;
        }
        const std::string text(start, size_t(m_p - start));
        errno = 0;
        if (integral) {
            const long long v = std::strtoll(text.c_str(), nullptr, 10);
            if (errno == ERANGE) {
                m_p = start;
                return fail(QStringLiteral("the integer %1 does not fit in 64 bits (write it as a string, or as %2 to "
                                           "accept rounding)")
                                .arg(QString::fromLatin1(text.c_str()).left(40),
                                     QString::fromLatin1(text.c_str()).left(40) + QStringLiteral(".0")));
            }
            *out = QCborValue(qint64(v));
            return true;
        }
        const double d = std::strtod(text.c_str(), nullptr);
        if (!std::isfinite(d)) {
            m_p = start;
            return fail(
                QStringLiteral("the number %1 is out of range").arg(QString::fromLatin1(text.c_str()).left(40)));
        }
        *out = QCborValue(d);
        return true;
    }

    const char *m_p;
    const char *m_begin;
    const char *m_end;
    QString m_error;
    JsonRefusal m_refusal = JsonRefusal::NotJson;
    QVector<QCborValue> *m_topInputs; ///< where a top-level object's "inputs" elements go, or null
    bool m_uniqueKeys;                ///< refuse a key repeated in one object
};

} // namespace

bool parseJsonExact(const QByteArray &json, QCborValue *out, QString *error)
{
    return parseJsonExact(json, out, error, JsonReadOptions {});
}

bool parseJsonExact(const QByteArray &json, QCborValue *out, QString *error, const JsonReadOptions &options)
{
    Parser p(json, options);
    if (p.parse(out))
        return true;
    *error = p.error();
    if (options.refusal)
        *options.refusal = p.refusal();
    return false;
}

} // namespace taskfleet::util
