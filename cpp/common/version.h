#pragma once
#ifndef HAKO_VERSION
#define HAKO_VERSION "0.1.0"
#endif
