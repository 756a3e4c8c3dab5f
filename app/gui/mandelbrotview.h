// SPDX-License-Identifier: MIT
// The picture of a mandelbrot job, assembling as its tiles arrive.
#pragma once

#include <QtCore/QStringList>

#include "sched/controller.h"

#include <QtGui/QImage>
#include <QtWidgets/QWidget>

namespace taskfleet::gui {

/**
 * Paints mandelbrot tiles ({x, y, w, h, pixels}) into one image per job, with a palette, and
 * shows the current job's image scaled to fit. With tinting on, each tile is washed with the
 * colour of the node that computed it, and a legend names the nodes.
 */
class MandelbrotView : public QWidget
{
    Q_OBJECT

public:
    explicit MandelbrotView(QWidget *parent = nullptr);

    /** Records a job's inputs, which give the picture size (tiles * size a side). */
    void setJobInputs(int jobId, const sched::JobInputs &inputs);
    /** Paints the tiles among \a records; others are ignored. */
    void addRecords(int jobId, const QVector<sched::TaskRecord> &records);
    void setCurrentJob(int jobId);
    int currentJob() const { return m_current; }
    bool hasPicture(int jobId) const { return m_jobs.contains(jobId); }
    /** Forgets a job's picture (a job removed from the window). */
    void removeJob(int jobId);
    /** Tiles painted so far for a job. */
    int tileCount(int jobId) const;
    void setTintByNode(bool on);
    /** Node names in the nodes table's order, for the legend; colours belong to each node (nodeColor()). */
    void setNodeOrder(const QStringList &names);

    QSize sizeHint() const override { return {420, 420}; }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    struct Tile {
        QRect rect;
        QString node;
    };
    struct Picture {
        QImage image;
        QVector<Tile> tiles;
    };
    QColor nodeColor(const QString &node) const;

    QHash<int, Picture> m_jobs;
    QVector<QRgb> m_palette;
    QStringList
        m_nodeOrder; ///< the legend's order: the table's, then nodes seen only in tiles (colours come from nodeColor())
    int m_current = -1;
    bool m_tint = false;
};

} // namespace taskfleet::gui
