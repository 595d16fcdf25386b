"""Certificates of service hours 志愿服务证明: issue, revoke, the PDF and the public check."""
