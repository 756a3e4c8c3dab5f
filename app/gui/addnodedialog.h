// SPDX-License-Identifier: MIT
// "Add node…": host and port of a remote node, for node types registered by the network layer.
#pragma once

#include "sched/node.h"

#include <QtWidgets/QDialog>

#include <functional>

class QComboBox;
class QLineEdit;
class QSpinBox;

namespace taskfleet::gui {

/**
 * Kinds of nodes a person can add by address. The network layer registers one (e.g. "Taskfleet
 * agent (TLS-PSK)") with a factory that builds its sched::Node; the factory runs on the
 * controller's thread (through ControllerHost::addNode), so it must only capture values.
 */
class NodeTypes
{
public:
    /** Builds a node for host:port with the given cluster secret; runs on the controller thread. */
    using Factory = std::function<sched::Node *(const QString &host, quint16 port, const QString &secret)>;
    struct Type {
        QString name;
        Factory factory;
    };

    static void registerType(const QString &name, Factory factory);
    static QVector<Type> types();
};

/** Asks for a node type, host and port; explains when no remote node type is built in. */
class AddNodeDialog : public QDialog
{
    Q_OBJECT

public:
    explicit AddNodeDialog(quint16 defaultPort, QWidget *parent = nullptr);
    QString host() const;
    quint16 port() const;
    /** Index into NodeTypes::types(), or -1. */
    int typeIndex() const;

private:
    QComboBox *m_type;
    QLineEdit *m_host;
    QSpinBox *m_port;
};

} // namespace taskfleet::gui
