// Field codecs shared by the channel messages (messages.cpp) and the channel record
// (channel_record.cpp): one encoding of an outpoint, a signature, an output and a party's
// funding inputs with its change, so that the two can never disagree.
#pragma once

#include <optional>
#include <vector>

#include "channels/messages.h"

namespace wattline::channels::codec {

void PutOutPoint(consensus::Writer& w, const consensus::OutPoint& o);
bool GetOutPoint(consensus::Reader& r, consensus::OutPoint& o);
void PutSig(consensus::Writer& w, const Signature& s);
bool GetSig(consensus::Reader& r, Signature& s);
void PutTxOut(consensus::Writer& w, const consensus::TxOut& o);
bool GetTxOut(consensus::Reader& r, consensus::TxOut& o);
/** varint count || (outpoint || output) each || u8 has change || [change, amount > 0]. */
void PutInputs(consensus::Writer& w, const std::vector<FundingInput>& in, const std::optional<consensus::TxOut>& change);
bool GetInputs(consensus::Reader& r, std::vector<FundingInput>& in, std::optional<consensus::TxOut>& change);
/** The funding record's payload (kind 5, version 1), and back (kBadFieldValue unless it decodes as a funding). */
void PutFunding(consensus::Writer& w, const consensus::ChannelFunding& f);
bool GetFunding(consensus::Reader& r, consensus::ChannelFunding& f);

}  // namespace wattline::channels::codec
