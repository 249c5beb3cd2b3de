"""Channels: adapters that turn a messaging protocol into questions for the chain and its
answers back into that protocol (WeChat's Official Account and WeCom: bot/channels/wechat)."""
