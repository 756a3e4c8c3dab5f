// SPDX-License-Identifier: MIT
// Tasks per second over the last two minutes, total and per node, drawn with QPainter.
#include "throughputchart.h"

#include "format.h"

#include <QtGui/QPainter>
#include <QtGui/QPainterPath>

#include <algorithm>
#include <cmath>

namespace taskfleet::gui {

namespace {
/** A "nice" axis maximum at or above \a v: 1, 2, 5 times a power of ten. */
double niceCeiling(double v)
{
    if (v <= 0.25)
        return 0.25;
    const double p = std::pow(10.0, std::floor(std::log10(v)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * p >= v)
            return m * p;
    return 10 * p;
}

} // namespace

ThroughputChart::ThroughputChart(QWidget *parent)
    : QWidget(parent)
{
    setMinimumHeight(120);
}

void ThroughputChart::setSnapshot(const sched::ClusterSnapshot &snapshot)
{
    const qint64 second = snapshot.takenUs / 1000000;
    const qint64 moved = m_second < 0 ? 0 : std::max<qint64>(0, second - m_second);
    m_second = second;
    m_total = snapshot.throughputHistory.value(0);
    for (NodeSeries &n : m_nodes)
        n.present = false;
    for (int i = 0; i < snapshot.throughputNodeNames.size(); ++i) {
        // throughputNodeNames follow the snapshot's nodes, in order.
        const QString id = i < snapshot.nodes.size() ? snapshot.nodes.at(i).id : snapshot.throughputNodeNames.at(i);
        auto it = std::find_if(m_nodes.begin(), m_nodes.end(), [&](const NodeSeries &n) { return n.id == id; });
        if (it == m_nodes.end())
            it = m_nodes.insert(m_nodes.end(), NodeSeries {id, {}, {}, false, false});
        it->name = snapshot.throughputNodeNames.at(i);
        it->values = snapshot.throughputHistory.value(i + 1);
        it->online = i < snapshot.nodes.size() && snapshot.nodes.at(i).state == sched::NodeState::Online;
        it->present = true;
    }
    // A node that left: its seconds stay where they were, the clock moves on (quiet seconds), until they are out.
    for (auto it = m_nodes.begin(); it != m_nodes.end();) {
        if (!it->present) {
            it->online = false;
            it->values.append(QVector<int>(int(std::min<qint64>(moved, m_seconds)), 0));
            if (it->values.size() > m_seconds)
                it->values.remove(0, it->values.size() - m_seconds);
            if (std::all_of(it->values.cbegin(), it->values.cend(), [](int v) { return v == 0; })) {
                it = m_nodes.erase(it);
                continue;
            }
        }
        ++it;
    }
    m_fraction = snapshot.currentSecondFraction;
    update();
}

bool ThroughputChart::shown(const NodeSeries &s) const
{
    return s.online || std::any_of(s.values.cbegin(), s.values.cend(), [](int v) { return v != 0; });
}

QStringList ThroughputChart::legend() const
{
    QStringList names {tr("total")};
    for (const NodeSeries &n : m_nodes)
        if (shown(n))
            names << n.name;
    return names;
}

QVector<int> ThroughputChart::series(const QString &name) const
{
    if (name == tr("total"))
        return m_total;
    for (const NodeSeries &n : m_nodes)
        if (n.name == name && shown(n))
            return n.values;
    return {};
}

int ThroughputChart::layoutLegend(QVector<QPoint> *at, bool *cut) const
{
    // After the title, one entry per series, wrapped onto as many lines as it needs; with long node names cut
    // short when the whole names would take more than two lines (the plot keeps its height).
    const QFontMetrics fm = fontMetrics();
    const QStringList names = legend();
    const int left = fm.horizontalAdvance(QStringLiteral("000000")) + 8;
    const int lineHeight = fm.height() + 2;
    int lines = 1;
    for (const bool shorten : {false, true}) {
        int lx = left + fm.horizontalAdvance(tr("tasks per second")) + 18;
        lines = 1;
        at->clear();
        for (const QString &name : names) {
            const int w = 16 + fm.horizontalAdvance(legendText(name, shorten)) + 12;
            if (lx + w > width() - 12 && lx > left) {
                ++lines;
                lx = left;
            }
            at->append(QPoint(lx, 2 + (lines - 1) * lineHeight));
            lx += w;
        }
        *cut = shorten;
        if (lines <= 2)
            break;
    }
    return lines;
}

QString ThroughputChart::legendText(const QString &name, bool shorten) const
{
    return shorten ? fontMetrics().elidedText(name, Qt::ElideRight, std::max(110, width() / 4)) : name;
}

QRect ThroughputChart::plotRect() const
{
    const QFontMetrics fm = fontMetrics();
    QVector<QPoint> at;
    bool cut = false;
    const int lines = layoutLegend(&at, &cut);
    const int left = fm.horizontalAdvance(QStringLiteral("000000")) + 8;
    return rect().adjusted(left, lines * (fm.height() + 2) + 8, -12, -fm.height() - 8);
}

void ThroughputChart::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(rect(), palette().base());
    const QFontMetrics fm = fontMetrics();
    const QString title = tr("tasks per second");
    QVector<QVector<int>> shownSeries {m_total};
    QStringList names {tr("total")};
    for (const NodeSeries &n : m_nodes) {
        if (shown(n)) {
            shownSeries.append(n.values);
            names.append(n.name);
        }
    }
    const auto colorOf = [&](int s) {
        QColor color = s == 0 ? palette().text().color() : nodeColor(names.value(s));
        if (s == 0)
            color.setAlpha(110); // the total is drawn last, over its nodes: let them show through
        return color;
    };
    const auto nameOf = [&](int s) { return names.value(s); };
    QVector<QPoint> legendAt;
    bool cut = false;
    layoutLegend(&legendAt, &cut);
    const QRect plot = plotRect();
    if (plot.width() < 20 || plot.height() < 20)
        return;

    // The last entry is the second the clock is in. Once a fifth of it has passed it is drawn as a rate
    // (count / fraction): a one-second job shows while it runs, and the line does not dip at the end.
    const auto points = [this](const QVector<int> &s) {
        QVector<double> v;
        v.reserve(s.size());
        for (int i = 0; i + 1 < s.size(); ++i)
            v.append(s.at(i));
        if (!s.isEmpty() && m_fraction >= 0.2)
            v.append(s.constLast() / m_fraction);
        return v;
    };
    QVector<QVector<double>> values;
    double maxValue = 0;
    int length = 0;
    for (const QVector<int> &s : std::as_const(shownSeries)) {
        values.append(points(s));
        for (double v : std::as_const(values.constLast()))
            maxValue = qMax(maxValue, v);
        length = qMax(length, int(values.constLast().size()));
    }
    const double top = 4 * niceCeiling(maxValue * 1.1 / 4);
    // A young run fills the chart instead of hugging its right edge; it grows to the full history.
    const int seconds = qBound(30, length, m_seconds);

    p.setPen(QPen(palette().mid().color(), 1, Qt::DotLine));
    for (int k = 0; k <= 4; ++k) {
        const double y = plot.bottom() - plot.height() * k / 4.0;
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
        p.setPen(palette().text().color());
        const double v = top * k / 4.0;
        const QString label = top >= 4 ? QString::number(qint64(v + 0.5)) : QString::number(v, 'g', 3);
        p.drawText(QRectF(0, y - fm.height() / 2.0, plot.left() - 6, fm.height()), Qt::AlignRight | Qt::AlignVCenter,
                   label);
        p.setPen(QPen(palette().mid().color(), 1, Qt::DotLine));
    }
    p.setPen(palette().text().color());
    p.drawText(QRect(plot.left(), plot.bottom() + 4, plot.width(), fm.height()), Qt::AlignLeft,
               tr("-%1 s").arg(seconds));
    p.drawText(QRect(plot.left(), plot.bottom() + 4, plot.width(), fm.height()), Qt::AlignRight, tr("now"));
    p.drawText(QRect(plot.left(), 2, plot.width(), fm.height()), Qt::AlignLeft, title);

    const double dx = double(plot.width()) / double(seconds - 1);
    for (int s = int(shownSeries.size()) - 1; s >= 0; --s) {
        const QVector<double> &series = values.at(s);
        const int n = qMin(int(series.size()), seconds);
        const QColor color = colorOf(s);
        if (n >= 1) {
            QPainterPath path;
            const int first = int(series.size()) - n;
            for (int i = 0; i < n; ++i) {
                const double x = plot.right() - (n - 1 - i) * dx;
                const double y = plot.bottom() - plot.height() * series.at(first + i) / top;
                if (i == 0)
                    path.moveTo(x, y);
                else
                    path.lineTo(x, y);
            }
            p.setPen(QPen(color, s == 0 ? 3.5 : 1.5));
            p.drawPath(path);
        }
        const QPoint at = legendAt.at(s);
        p.fillRect(at.x(), at.y() + fm.height() / 2 - 2, 12, 4, color);
        p.setPen(palette().text().color());
        p.drawText(at.x() + 16, at.y() + fm.ascent(), legendText(nameOf(s), cut));
    }
    p.setPen(palette().mid().color());
    p.drawRect(plot);
}

} // namespace taskfleet::gui
