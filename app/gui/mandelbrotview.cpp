// SPDX-License-Identifier: MIT
// The picture of a mandelbrot job, assembling as its tiles arrive.
#include "mandelbrotview.h"

#include "format.h"
#include "util/cborinteger.h"

#include <QtCore/QCborMap>
#include <QtGui/QFontMetrics>
#include <QtGui/QPainter>

#include <algorithm>
#include <cmath>

namespace taskfleet::gui {

namespace {
/** Largest picture side we allocate (pixels). */
constexpr int MaxSide = 8192;

QVector<QRgb> makePalette()
{
    QVector<QRgb> palette(256);
    // Escape counts are scaled by the job's maximum, so most detail sits in the low indices:
    // a steep curve spreads it out (deep blue -> cyan -> white -> orange).
    const QColor stops[] = {QColor(0x0b, 0x10, 0x33), QColor(0x1f, 0x4e, 0x9c), QColor(0x40, 0xb0, 0xe0),
                            QColor(0xf5, 0xf5, 0xe8), QColor(0xff, 0xa0, 0x30), QColor(0x80, 0x20, 0x10)};
    constexpr int last = int(sizeof stops / sizeof stops[0]) - 1;
    for (int i = 0; i < 255; ++i) {
        const double t = std::pow(double(i) / 254.0, 0.3) * last;
        const int k = std::min(int(t), last - 1);
        const double f = t - k;
        const QColor &a = stops[k];
        const QColor &b = stops[k + 1];
        palette[i] = qRgb(int(a.red() + (b.red() - a.red()) * f), int(a.green() + (b.green() - a.green()) * f),
                          int(a.blue() + (b.blue() - a.blue()) * f));
    }
    palette[255] = qRgb(0, 0, 0); // inside the set
    return palette;
}
} // namespace

MandelbrotView::MandelbrotView(QWidget *parent)
    : QWidget(parent)
    , m_palette(makePalette())
{
    setMinimumSize(160, 160);
}

void MandelbrotView::setJobInputs(int jobId, const sched::JobInputs &inputs)
{
    if (inputs.isEmpty() || !inputs.first().isMap())
        return;
    const QCborMap first = inputs.first().toMap();
    const qint64 tiles = util::cborInteger(first.value(QStringLiteral("tiles")), 8);
    const qint64 size = util::cborInteger(first.value(QStringLiteral("size")), 64);
    if (tiles <= 0 || size <= 0 || tiles > MaxSide || size > MaxSide || tiles * size > MaxSide)
        return;
    Picture &p = m_jobs[jobId];
    p.image = QImage(int(tiles * size), int(tiles * size), QImage::Format_Indexed8);
    p.image.setColorTable(m_palette);
    p.image.fill(255);
    if (jobId == m_current)
        update();
}

void MandelbrotView::addRecords(int jobId, const QVector<sched::TaskRecord> &records)
{
    auto it = m_jobs.find(jobId);
    if (it == m_jobs.end())
        return;
    Picture &p = *it;
    for (const sched::TaskRecord &r : records) {
        if (r.status != stats::TaskStatus::Ok || !r.output.isMap())
            continue;
        const QCborMap m = r.output.toMap();
        // Results come from remote plugins: bound every factor before multiplying.
        const qint64 w = util::cborInteger(m.value(QStringLiteral("w")));
        const qint64 h = util::cborInteger(m.value(QStringLiteral("h")));
        const qint64 x = util::cborInteger(m.value(QStringLiteral("x")), -1);
        const qint64 y = util::cborInteger(m.value(QStringLiteral("y")), -1);
        if (w <= 0 || h <= 0 || w > p.image.width() || h > p.image.height() || x < 0 || y < 0 || x >= p.image.width()
            || y >= p.image.height())
            continue;
        const qint64 x0 = x * w;
        const qint64 y0 = y * h;
        const QByteArray pixels = m.value(QStringLiteral("pixels")).toByteArray();
        if (pixels.size() != w * h || x0 + w > p.image.width() || y0 + h > p.image.height())
            continue;
        for (int row = 0; row < h; ++row)
            memcpy(p.image.scanLine(int(y0) + row) + x0, pixels.constData() + row * w, size_t(w));
        p.tiles.append({QRect(int(x0), int(y0), int(w), int(h)), r.nodeName});
        if (!r.nodeName.isEmpty() && !m_nodeOrder.contains(r.nodeName))
            m_nodeOrder.append(r.nodeName);
    }
    if (jobId == m_current)
        update();
}

void MandelbrotView::setNodeOrder(const QStringList &names)
{
    // The table's order first; names no longer in it (removed nodes, names before a hello) keep a colour after them.
    QStringList order = names;
    for (const QString &name : std::as_const(m_nodeOrder))
        if (!order.contains(name))
            order.append(name);
    if (order != m_nodeOrder) {
        m_nodeOrder = order;
        if (m_tint)
            update();
    }
}

void MandelbrotView::removeJob(int jobId)
{
    if (jobId == m_current)
        setCurrentJob(-1);
    m_jobs.remove(jobId);
}

void MandelbrotView::setCurrentJob(int jobId)
{
    m_current = jobId;
    update();
}

int MandelbrotView::tileCount(int jobId) const
{
    const auto it = m_jobs.constFind(jobId);
    return it == m_jobs.constEnd() ? 0 : int(it->tiles.size());
}

void MandelbrotView::setTintByNode(bool on)
{
    m_tint = on;
    update();
}

QColor MandelbrotView::nodeColor(const QString &node) const
{
    return gui::nodeColor(node);
}

void MandelbrotView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.fillRect(rect(), QColor(0x20, 0x22, 0x28));
    const auto it = m_jobs.constFind(m_current);
    if (it == m_jobs.constEnd() || it->image.isNull()) {
        painter.setPen(QColor(0xb0, 0xb0, 0xb0));
        painter.drawText(
            rect(), Qt::AlignCenter | Qt::TextWordWrap,
            tr("Select a mandelbrot job to see its picture assemble.\nExamples \u25b8 Mandelbrot starts one."));
        return;
    }
    const Picture &p = *it;
    const int side = qMin(width(), height()) - 8;
    const QRect target((width() - side) / 2, (height() - side) / 2, side, side);
    const double scale = double(side) / double(p.image.width());
    // Tiles not computed yet stay a quiet grey; computed ones are copied from the image.
    painter.fillRect(target, QColor(0x3a, 0x3d, 0x45));
    painter.setRenderHint(QPainter::SmoothPixmapTransform);
    for (const Tile &t : p.tiles) {
        const QRectF r(target.left() + t.rect.left() * scale, target.top() + t.rect.top() * scale,
                       t.rect.width() * scale, t.rect.height() * scale);
        painter.drawImage(r, p.image, t.rect);
    }
    QStringList legend; // the nodes of this picture, in colour order
    if (m_tint) {
        for (const Tile &t : p.tiles) {
            if (!legend.contains(t.node))
                legend.append(t.node);
            // A light wash and a thin frame in the node's colour: the picture stays visible under it.
            QColor c = nodeColor(t.node);
            const QRectF r(target.left() + t.rect.left() * scale, target.top() + t.rect.top() * scale,
                           t.rect.width() * scale, t.rect.height() * scale);
            c.setAlpha(70);
            painter.fillRect(r, c);
            if (r.width() >= 24) { // frames on small tiles would only draw a grid
                c.setAlpha(200);
                painter.setPen(QPen(c, 1));
                painter.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5));
            }
        }
    }
    painter.setPen(QColor(0x60, 0x60, 0x68));
    painter.drawRect(target.adjusted(0, 0, -1, -1));
    std::sort(legend.begin(), legend.end(),
              [this](const QString &a, const QString &b) { return m_nodeOrder.indexOf(a) < m_nodeOrder.indexOf(b); });
    const QFontMetrics fm = painter.fontMetrics();
    const int line = fm.height() + 4;
    int y = target.top() + 6;
    for (const QString &node : std::as_const(legend)) {
        // On a dark plate, so that the names stay readable over any part of the picture.
        const QRect plate(target.left() + 4, y - 2, 26 + fm.horizontalAdvance(node), line);
        painter.fillRect(plate, QColor(0, 0, 0, 150));
        painter.fillRect(target.left() + 8, y + (line - 4 - 12) / 2, 12, 12, nodeColor(node));
        painter.setPen(Qt::white);
        painter.drawText(QRect(target.left() + 26, y, plate.width() - 24, line - 4), Qt::AlignVCenter, node);
        y += line;
    }
}

} // namespace taskfleet::gui
