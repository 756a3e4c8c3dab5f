// SPDX-License-Identifier: MIT
#include "logging.h"

Q_LOGGING_CATEGORY(lcProtocol, "tf.protocol", QtInfoMsg)
Q_LOGGING_CATEGORY(lcNet, "tf.net", QtInfoMsg)
Q_LOGGING_CATEGORY(lcDiscovery, "tf.discovery", QtInfoMsg)
Q_LOGGING_CATEGORY(lcExec, "tf.exec", QtInfoMsg)
Q_LOGGING_CATEGORY(lcWorker, "tf.worker", QtInfoMsg)
Q_LOGGING_CATEGORY(lcSched, "tf.sched", QtInfoMsg)
Q_LOGGING_CATEGORY(lcStats, "tf.stats", QtInfoMsg)
Q_LOGGING_CATEGORY(lcAgent, "tf.agent", QtInfoMsg)
