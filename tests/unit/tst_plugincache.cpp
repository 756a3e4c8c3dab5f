// SPDX-License-Identifier: MIT
// PluginCache: hash check, the size cap, least-recently-used eviction, and the order surviving a restart.
#include "exec/plugincache.h"
#include "util/sha256.h"

#include <QtCore/QCryptographicHash>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

using taskfleet::exec::PluginCache;

namespace {
QByteArray blob(char fill, int size)
{
    return QByteArray(size, fill);
}
QByteArray shaOf(const QByteArray &bytes)
{
    return QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex();
}
} // namespace

class TestPluginCache : public QObject
{
    Q_OBJECT

private slots:
    void sha256MatchesTheStandardAndQt();
    void fileAlteredOnDiskIsRefusedAndRemoved();
    void defaultLimitIsOneGiB();
    void wrongHashIsRefused();
    void leastRecentlyUsedIsEvicted();
    void pluginLargerThanLimitIsRefused();
    void zeroMeansNoLimit();
    void orderSurvivesRestartViaMtime();
};

void TestPluginCache::defaultLimitIsOneGiB()
{
    QTemporaryDir dir;
    PluginCache cache(dir.path());
    QCOMPARE(cache.limitBytes(), qint64(1) << 30);
}

void TestPluginCache::wrongHashIsRefused()
{
    QTemporaryDir dir;
    PluginCache cache(dir.path());
    QString error;
    QVERIFY(!cache.store(shaOf("a"), QByteArray("b"), &error));
    QVERIFY(error.contains(QStringLiteral("SHA-256")));
    QCOMPARE(cache.sizeBytes(), 0);
}

void TestPluginCache::leastRecentlyUsedIsEvicted()
{
    QTemporaryDir dir;
    PluginCache cache(dir.path());
    cache.setLimitBytes(3000);
    const QByteArray a = blob('a', 1000), b = blob('b', 1000), c = blob('c', 1000), d = blob('d', 1000);
    QString error;
    QVERIFY2(cache.store(shaOf(a), a, &error), qPrintable(error));
    QVERIFY2(cache.store(shaOf(b), b, &error), qPrintable(error));
    QVERIFY2(cache.store(shaOf(c), c, &error), qPrintable(error));
    QCOMPARE(cache.sizeBytes(), 3000);
    cache.touch(shaOf(a)); // a is now more recent than b and c
    QVERIFY2(cache.store(shaOf(d), d, &error), qPrintable(error));
    QVERIFY(!cache.contains(shaOf(b))); // the least recently used
    QVERIFY(cache.contains(shaOf(a)));
    QVERIFY(cache.contains(shaOf(c)));
    QVERIFY(cache.contains(shaOf(d)));
    QCOMPARE(cache.evicted(), 1);
    QVERIFY(cache.sizeBytes() <= 3000);

    // A bigger one needs two slots: c and a go (c older than a, both older than d).
    cache.touch(shaOf(d));
    const QByteArray e = blob('e', 2000);
    QVERIFY2(cache.store(shaOf(e), e, &error), qPrintable(error));
    QVERIFY(!cache.contains(shaOf(c)));
    QVERIFY(!cache.contains(shaOf(a)));
    QVERIFY(cache.contains(shaOf(d)));
    QVERIFY(cache.contains(shaOf(e)));
    QCOMPARE(cache.evicted(), 3);
    QCOMPARE(cache.sizeBytes(), 3000);
}

void TestPluginCache::pluginLargerThanLimitIsRefused()
{
    QTemporaryDir dir;
    PluginCache cache(dir.path());
    cache.setLimitBytes(1000);
    const QByteArray small = blob('s', 500), big = blob('B', 1001);
    QString error;
    QVERIFY(cache.store(shaOf(small), small, &error));
    QVERIFY(!cache.store(shaOf(big), big, &error));
    QVERIFY(error.contains(QStringLiteral("limit")));
    QVERIFY(cache.contains(shaOf(small))); // nothing was evicted for a plugin that cannot fit anyway
    QCOMPARE(cache.evicted(), 0);
}

void TestPluginCache::zeroMeansNoLimit()
{
    QTemporaryDir dir;
    PluginCache cache(dir.path());
    cache.setLimitBytes(0);
    QString error;
    for (char ch = 'a'; ch < 'a' + 5; ++ch) {
        const QByteArray x = blob(ch, 10000);
        QVERIFY(cache.store(shaOf(x), x, &error));
    }
    QCOMPARE(cache.sizeBytes(), 50000);
    QCOMPARE(cache.evicted(), 0);
}

void TestPluginCache::orderSurvivesRestartViaMtime()
{
    QTemporaryDir dir;
    const QByteArray a = blob('a', 1000), b = blob('b', 1000), c = blob('c', 1000);
    QString error;
    {
        PluginCache first(dir.path());
        QVERIFY(first.store(shaOf(a), a, &error));
        QVERIFY(first.store(shaOf(b), b, &error));
    }
    // Make the order explicit on disk: b used long ago, a recently (what touch() leaves behind).
    QFile fb(dir.filePath(QString::fromLatin1(shaOf(b)) + QStringLiteral(".so")));
    QVERIFY(fb.open(QIODevice::ReadWrite));
    QVERIFY(fb.setFileTime(QDateTime::currentDateTime().addDays(-2), QFileDevice::FileModificationTime));
    fb.close();
    PluginCache second(dir.path());
    second.setLimitBytes(2000);
    QVERIFY2(second.store(shaOf(c), c, &error), qPrintable(error));
    QVERIFY(!second.contains(shaOf(b)));
    QVERIFY(second.contains(shaOf(a)));
    QVERIFY(second.contains(shaOf(c)));
}

QTEST_GUILESS_MAIN(TestPluginCache)
// A cached plugin whose bytes change on disk (same size, same name) is refused before any worker loads it, and
// removed; an honest file is hashed once, not at every run (touch() changes only its times).
void TestPluginCache::fileAlteredOnDiskIsRefusedAndRemoved()
{
    QTemporaryDir dir;
    taskfleet::exec::PluginCache cache(dir.path() + QStringLiteral("/plugins"));
    const QByteArray bytes(100000, 'p');
    const QByteArray sha = QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex();
    QString error;
    QVERIFY2(cache.store(sha, bytes, &error), qPrintable(error));
    QVERIFY2(cache.verify(sha, &error), qPrintable(error));
    cache.touch(sha);
    QVERIFY2(cache.verify(sha, &error), qPrintable(error));
    {
        QFile f(cache.path(sha));
        QVERIFY(f.open(QIODevice::ReadWrite));
        QVERIFY(f.seek(5000));
        QVERIFY(f.write("X", 1) == 1);
    }
    QVERIFY(cache.contains(sha)); // same name, same size
    QVERIFY(!cache.verify(sha, &error));
    QVERIFY2(error.contains(QStringLiteral("altered on disk")), qPrintable(error));
    QVERIFY(!QFile::exists(cache.path(sha)));
    QCOMPARE(cache.corrupted(), qint64(1));
    QVERIFY2(cache.store(sha, bytes, &error), qPrintable(error)); // the controller uploads it again
    QVERIFY2(cache.verify(sha, &error), qPrintable(error));
    // A new cache over the same directory (the agent restarted) hashes what it finds before trusting it.
    taskfleet::exec::PluginCache again(dir.path() + QStringLiteral("/plugins"));
    QVERIFY2(again.verify(sha, &error), qPrintable(error));
}

// The content addresses (OpenSSL's SHA-256) are the standard's: FIPS 180-2's vectors, and Qt's own digest of bytes
// past one block, so cached plugins and job parameters keep their ids.
void TestPluginCache::sha256MatchesTheStandardAndQt()
{
    QCOMPARE(taskfleet::util::sha256Hex("abc"),
             QByteArray("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    QCOMPARE(taskfleet::util::sha256Hex(""),
             QByteArray("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    QByteArray big(3 * 1024 * 1024 + 17, '\0');
    for (qsizetype i = 0; i < big.size(); ++i)
        big[i] = char(i * 131 + (i >> 9));
    QCOMPARE(taskfleet::util::sha256Hex(big), QCryptographicHash::hash(big, QCryptographicHash::Sha256).toHex());
}

#include "tst_plugincache.moc"
