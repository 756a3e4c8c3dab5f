// SPDX-License-Identifier: MIT
// Tasks per second over the last two minutes, total and per node, drawn with QPainter.
#include "throughputchart.h"

#include "format.h"

#include <QtGui/QPainter>
#include <QtGui/QPainterPath>

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
    m_series = snapshot.throughputHistory;
    m_names = snapshot.throughputNodeNames;
    m_fraction = snapshot.currentSecondFraction;
    update();
}

void ThroughputChart::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(rect(), palette().base());
    const QFontMetrics fm = fontMetrics();
    const QString title = tr("tasks per second");
    const auto colorOf = [this](int s) {
        QColor color = s == 0 ? palette().text().color() : nodeColor(m_names.value(s - 1));
        if (s == 0)
            color.setAlpha(110); // the total is drawn last, over its nodes: let them show through
        return color;
    };
    const auto nameOf = [this](int s) { return s == 0 ? tr("total") : m_names.value(s - 1); };
    // Legend: after the title, one entry per series, wrapped onto as many lines as it needs.
    const int left = fm.horizontalAdvance(QStringLiteral("000000")) + 8;
    const int lineHeight = fm.height() + 2;
    QVector<QPoint> legendAt(m_series.size());
    int lx = left + fm.horizontalAdvance(title) + 18;
    int lines = 1;
    for (int s = 0; s < int(m_series.size()); ++s) {
        const int w = 16 + fm.horizontalAdvance(nameOf(s)) + 12;
        if (lx + w > width() - 12 && lx > left) {
            ++lines;
            lx = left;
        }
        legendAt[s] = QPoint(lx, 2 + (lines - 1) * lineHeight);
        lx += w;
    }
    const QRect plot = rect().adjusted(left, lines * lineHeight + 8, -12, -fm.height() - 8);
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
    for (const QVector<int> &s : std::as_const(m_series)) {
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
    for (int s = int(m_series.size()) - 1; s >= 0; --s) {
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
        p.drawText(at.x() + 16, at.y() + fm.ascent(), nameOf(s));
    }
    p.setPen(palette().mid().color());
    p.drawRect(plot);
}

} // namespace taskfleet::gui
